/**
 * Names of the objects the operator creates for a DiTInference `<name>`. Pod names are
 * `<name>-g<group>-<ordinal>`, and the longest label value Kubernetes derives from them
 * (`controller-revision-hash` = StatefulSet name + '-' + 10 characters) must fit 63 characters, which
 * bounds the DiTInference's name.
 */
export const MAX_INFERENCE_NAME_LENGTH = 42;

/** A DNS-1035 label, what a Service name must be (no dots, starts with a letter). */
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Why the operator cannot derive valid child names from the DiTInference's name, or undefined when it
 * can. The CRD refuses such names already (CEL on metadata.name); this is the same check for objects
 * stored under an older CRD, so they stall with the reason instead of half their children existing.
 */
export function nameProblem(name: string): string | undefined {
  if (!DNS_1035_LABEL.test(name)) {
    return `metadata.name '${name}' cannot name the Services ${servingServiceName(name)} and ${peersServiceName(name)}: a Service name must be a DNS-1035 label (lowercase letters, digits and '-', starting with a letter, no dots); rename the object, e.g. '${dns1035Like(name)}'`;
  }
  if (name.length > MAX_INFERENCE_NAME_LENGTH) {
    return `metadata.name '${name}' has ${name.length} characters; at most ${MAX_INFERENCE_NAME_LENGTH} fit the names of its pods and their labels — use a shorter name`;
  }
  return undefined;
}

/** A suggestion for a name that is not a DNS-1035 label. */
function dns1035Like(name: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, MAX_INFERENCE_NAME_LENGTH)
    .replace(/-+$/, '');
  return cleaned || 'inference';
}

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
