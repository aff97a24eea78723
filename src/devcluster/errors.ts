/** The processes of the local control plane, in start order. */
export type Component =
  | 'etcd'
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'kwok'
  | 'kubectl'
  | 'certificates';

/**
 * A control-plane component failed to start. Names the component and the step that failed, and carries
 * the tail of that component's log, so a failing test says what broke without digging in temp folders.
 */
export class ControlPlaneStartError extends Error {
  override readonly name = 'ControlPlaneStartError';
  constructor(
    readonly component: Component,
    readonly step: string,
    reason: string,
    readonly logTail = '',
    options?: ErrorOptions,
  ) {
    const tail = logTail ? `\n--- last lines of the ${component} log ---\n${logTail}` : '';
    super(`local control plane: ${component} failed while ${step}: ${reason}${tail}`, options);
  }
}
