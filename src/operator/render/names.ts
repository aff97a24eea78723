/**
 * Names of the objects the operator creates for a DiTInference `<name>`. Pod names are
 * `<name>-g<group>-<ordinal>`, and the longest label value Kubernetes derives from them
 * (`controller-revision-hash` = StatefulSet name + '-' + 10 characters) must fit 63 characters, which
 * bounds the DiTInference's name.
 */
export const MAX_INFERENCE_NAME_LENGTH = 42;

export function groupName(name: string, index: number): string {
  return `${name}-g${index}`;
}

/** The headless Service that gives every pod a DNS name, ready or not (rendezvous needs it early). */
export function peersServiceName(name: string): string {
  return `${name}-peers`;
}

/** The Service in front of the group leaders' serving port; what clients call. */
export function servingServiceName(name: string): string {
  return name;
}

export function planConfigMapName(name: string): string {
  return `${name}-plan`;
}

/** The ConfigMap key that holds one plan version; pod templates mount the key of their plan as plan.json. */
export function planKey(planHash: string): string {
  return `plan-${planHash}.json`;
}

/** DNS name of a group's pod 0, through the headless Service. */
export function rendezvousAddress(name: string, namespace: string, index: number): string {
  return `${groupName(name, index)}-0.${peersServiceName(name)}.${namespace}.svc`;
}

/** Parses `<name>-g<index>`; undefined for other names. */
export function groupIndexOf(name: string, statefulSetName: string): number | undefined {
  const prefix = `${name}-g`;
  if (!statefulSetName.startsWith(prefix)) return undefined;
  const rest = statefulSetName.slice(prefix.length);
  return /^(0|[1-9][0-9]*)$/.test(rest) ? Number(rest) : undefined;
}
