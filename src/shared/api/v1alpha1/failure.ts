import type { Int32 } from './primitives.js';

export const FAILURE_POLICY_TYPES = ['RecreateGroup', 'None'] as const;
export type FailurePolicyType = (typeof FAILURE_POLICY_TYPES)[number];

/**
 * What happens when a pod of a group fails. A group is one collective program: one lost rank stalls
 * the others, so the default recreates the whole group.
 * @validation {"rule": "self.backoffSeconds <= self.maxBackoffSeconds", "message": "backoffSeconds must not exceed maxBackoffSeconds", "fieldPath": ".backoffSeconds"}
 */
export interface FailurePolicySpec {
  /**
   * `RecreateGroup`: when any pod of a group restarts or is deleted, delete and recreate all of the
   * group's pods together (after none of them is still Pending). `None`: leave pods to the kubelet and
   * StatefulSet controller.
   * @default "RecreateGroup"
   */
  type: FailurePolicyType;
  /**
   * Recreations of one group after which the operator stops and sets `Stalled=True`; 0 means never stop.
   * Changing `restartToken` resets the count.
   * @default 10
   * @minimum 0
   * @maximum 10000
   */
  restartLimit: Int32;
  /**
   * Wait before the first recreation of a group; doubles after each further one.
   * @default 10
   * @minimum 0
   * @maximum 3600
   */
  backoffSeconds: Int32;
  /**
   * Longest wait between two recreations of a group.
   * @default 600
   * @minimum 0
   * @maximum 86400
   */
  maxBackoffSeconds: Int32;
}
