import type { V1Node } from '@kubernetes/client-node';

/** A group of identical fake GPU nodes. */
export interface FakeGpuNodeSpec {
  /** Node names are `<namePrefix>-<n>`; default 'gpu-node'. */
  namePrefix?: string;
  count: number;
  /** `nvidia.com/gpu` capacity of each node. */
  gpus: number;
  /** GPU Feature Discovery's product label, e.g. 'NVIDIA-H100-80GB-HBM3' (the default). */
  product?: string;
  /** Memory of one GPU in MiB, as GFD reports it; default 81559 (H100 80GB). */
  memoryMiB?: number;
  /** NVLink domain (`nvidia.com/gpu.clique`), for multi-node NVLink systems; absent by default. */
  clique?: string;
  /** `topology.kubernetes.io/zone`; default 'zone-a'. */
  zone?: string;
  /** CPU capacity (a Kubernetes quantity); default '96'. */
  cpu?: string;
  /** Memory capacity (a Kubernetes quantity); default '1024Gi'. */
  memory?: string;
  /** Extra labels; they win over the defaults above. */
  labels?: Record<string, string>;
}

/** kwok manages only nodes carrying this annotation (it runs with a matching annotation selector). */
export const KWOK_NODE_ANNOTATION = { key: 'kwok.x-k8s.io/node', value: 'fake' } as const;

/** Every fake node has this taint, so only pods that mean to run on fake nodes (tests) land there. */
export const FAKE_NODE_TAINT: { key: string; value: string; effect: 'NoSchedule' } = {
  key: 'kwok.x-k8s.io/node',
  value: 'fake',
  effect: 'NoSchedule',
};

/** The labels GPU Feature Discovery puts on a GPU node (the subset Tessera's topology reading uses). */
export const GPU_LABELS = {
  product: 'nvidia.com/gpu.product',
  memoryMiB: 'nvidia.com/gpu.memory',
  count: 'nvidia.com/gpu.count',
  present: 'nvidia.com/gpu.present',
  clique: 'nvidia.com/gpu.clique',
} as const;

export const GPU_RESOURCE = 'nvidia.com/gpu';
export const DEFAULT_GPU_PRODUCT = 'NVIDIA-H100-80GB-HBM3';
const DEFAULT_GPU_MEMORY_MIB = 81_559;
const PODS_PER_NODE = '110';

/** Rejects a spec that would make nonsense nodes, naming the field and the fix. */
export function validateFakeGpuNodeSpec(spec: FakeGpuNodeSpec): void {
  const problems: string[] = [];
  if (!Number.isInteger(spec.count) || spec.count < 1)
    problems.push(`count must be an integer ≥ 1 (got ${spec.count})`);
  if (!Number.isInteger(spec.gpus) || spec.gpus < 0)
    problems.push(`gpus must be an integer ≥ 0 (got ${spec.gpus})`);
  if (spec.memoryMiB !== undefined && (!Number.isInteger(spec.memoryMiB) || spec.memoryMiB <= 0)) {
    problems.push(`memoryMiB must be a positive integer (got ${spec.memoryMiB})`);
  }
  if (spec.namePrefix !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(spec.namePrefix)) {
    problems.push(
      `namePrefix must be a DNS label (lowercase letters, digits, '-'), got '${spec.namePrefix}'`,
    );
  }
  if (problems.length > 0) throw new Error(`FakeGpuNodeSpec: ${problems.join('; ')}`);
}

/**
 * The Node object of one fake GPU node: capacity and allocatable with `nvidia.com/gpu`, cpu, memory and
 * pods; GFD labels; zone and hostname labels; the kwok annotation and the fake-node taint. kwok then
 * fills in conditions and addresses and keeps the node Ready.
 */
export function buildFakeGpuNode(spec: FakeGpuNodeSpec, name: string): V1Node {
  const resources = {
    cpu: spec.cpu ?? '96',
    memory: spec.memory ?? '1024Gi',
    pods: PODS_PER_NODE,
    [GPU_RESOURCE]: String(spec.gpus),
  };
  const labels: Record<string, string> = {
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'topology.kubernetes.io/zone': spec.zone ?? 'zone-a',
    type: 'kwok',
    [GPU_LABELS.present]: String(spec.gpus > 0),
    [GPU_LABELS.product]: spec.product ?? DEFAULT_GPU_PRODUCT,
    [GPU_LABELS.memoryMiB]: String(spec.memoryMiB ?? DEFAULT_GPU_MEMORY_MIB),
    [GPU_LABELS.count]: String(spec.gpus),
    ...(spec.clique !== undefined ? { [GPU_LABELS.clique]: spec.clique } : {}),
    ...spec.labels,
  };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels,
      annotations: { [KWOK_NODE_ANNOTATION.key]: KWOK_NODE_ANNOTATION.value },
    },
    spec: { taints: [{ ...FAKE_NODE_TAINT }] },
    status: { capacity: { ...resources }, allocatable: { ...resources } },
  };
}
