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
  /** Memory of one GPU in MiB, as GFD reports it; default: the product's (GPU_SERVER_MODELS). */
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

/** Labels GPU Feature Discovery puts on a GPU node (`nvidia.com/gpu.*`). */
export const GPU_LABELS = {
  product: 'nvidia.com/gpu.product',
  memoryMiB: 'nvidia.com/gpu.memory',
  count: 'nvidia.com/gpu.count',
  present: 'nvidia.com/gpu.present',
  clique: 'nvidia.com/gpu.clique',
  family: 'nvidia.com/gpu.family',
  machine: 'nvidia.com/gpu.machine',
  computeMajor: 'nvidia.com/gpu.compute.major',
  computeMinor: 'nvidia.com/gpu.compute.minor',
  replicas: 'nvidia.com/gpu.replicas',
  sharingStrategy: 'nvidia.com/gpu.sharing-strategy',
  mode: 'nvidia.com/gpu.mode',
} as const;

export const GPU_RESOURCE = 'nvidia.com/gpu';
export const H100_SXM_PRODUCT = 'NVIDIA-H100-80GB-HBM3';
export const L40S_PRODUCT = 'NVIDIA-L40S';
export const DEFAULT_GPU_PRODUCT = H100_SXM_PRODUCT;
const PODS_PER_NODE = '110';

/**
 * What GPU Feature Discovery and the cloud report for one kind of GPU server, so fake nodes carry the
 * labels a real node of that kind carries (GFD's `nvidia.com/*`, NFD's PCI vendor label, the cloud's
 * instance type). Memory is what NVML reports in MiB, as GFD writes it.
 */
export interface GpuServerModel {
  readonly memoryMiB: number;
  /** `nvidia.com/gpu.family`: the architecture. */
  readonly family: string;
  /** `nvidia.com/gpu.compute.major` / `.minor`: the CUDA compute capability. */
  readonly computeCapability: readonly [number, number];
  readonly migCapable: boolean;
  /** `nvidia.com/gpu.machine`: the server's DMI product name, spaces as dashes. */
  readonly machine: string;
  /** `node.kubernetes.io/instance-type` of the cloud instance with 8 of these GPUs. */
  readonly instanceType: string;
}

/**
 * The two kinds of GPU server a platform team's cluster typically mixes: 8×H100 SXM on an HGX board
 * (NVLink through NVSwitch; GFD has no NVLink label, the product name says SXM) and 8×L40S cards that
 * talk over PCIe only.
 */
export const GPU_SERVER_MODELS: Readonly<Record<string, GpuServerModel>> = {
  [H100_SXM_PRODUCT]: {
    memoryMiB: 81_559,
    family: 'hopper',
    computeCapability: [9, 0],
    migCapable: true,
    machine: 'PowerEdge-XE9680',
    instanceType: 'p5.48xlarge',
  },
  [L40S_PRODUCT]: {
    memoryMiB: 46_068,
    family: 'ada-lovelace',
    computeCapability: [8, 9],
    migCapable: false,
    machine: 'SYS-421GE-TNRT',
    instanceType: 'g6e.48xlarge',
  },
};

/** The driver and CUDA versions every fake node reports (one driver across the cluster, as is usual). */
const DRIVER = { major: 570, minor: 133, revision: 20, full: '570.133.20' } as const;
const CUDA_RUNTIME = { major: 12, minor: 8 } as const;
/** When "GFD last labelled" the fake nodes; fixed, so node objects are reproducible. */
const GFD_TIMESTAMP = '1764720000';

/**
 * A local cluster like a platform team's: an H100 NVLink pool and an L40S PCIe pool, each a Karpenter
 * node pool of its own (`karpenter.sh/nodepool`), as the operator's pool tests and the demo use it.
 */
export function twoPoolCluster(h100Nodes: number, l40sNodes: number): FakeGpuNodeSpec[] {
  return [
    {
      namePrefix: 'h100',
      count: h100Nodes,
      gpus: 8,
      product: H100_SXM_PRODUCT,
      labels: { 'karpenter.sh/nodepool': 'h100-nvlink' },
    },
    {
      namePrefix: 'l40s',
      count: l40sNodes,
      gpus: 8,
      product: L40S_PRODUCT,
      labels: { 'karpenter.sh/nodepool': 'l40s-pcie' },
    },
  ];
}

/** The GFD, NFD and cloud labels of a node with `gpus` GPUs of `product` (model labels when known). */
function gpuLabels(product: string, gpus: number, memoryMiB: number | undefined): Record<string, string> {
  const model = GPU_SERVER_MODELS[product];
  const labels: Record<string, string> = {
    'feature.node.kubernetes.io/pci-10de.present': 'true',
    [GPU_LABELS.present]: String(gpus > 0),
    [GPU_LABELS.product]: product,
    [GPU_LABELS.count]: String(gpus),
    [GPU_LABELS.replicas]: '1',
    [GPU_LABELS.sharingStrategy]: 'none',
    [GPU_LABELS.mode]: 'compute',
    'nvidia.com/cuda.driver-version.major': String(DRIVER.major),
    'nvidia.com/cuda.driver-version.minor': String(DRIVER.minor),
    'nvidia.com/cuda.driver-version.revision': String(DRIVER.revision),
    'nvidia.com/cuda.driver-version.full': DRIVER.full,
    'nvidia.com/cuda.runtime-version.major': String(CUDA_RUNTIME.major),
    'nvidia.com/cuda.runtime-version.minor': String(CUDA_RUNTIME.minor),
    'nvidia.com/cuda.runtime-version.full': `${CUDA_RUNTIME.major}.${CUDA_RUNTIME.minor}`,
    'nvidia.com/gfd.timestamp': GFD_TIMESTAMP,
  };
  const memory = memoryMiB ?? model?.memoryMiB;
  if (memory !== undefined) labels[GPU_LABELS.memoryMiB] = String(memory);
  if (model) {
    labels[GPU_LABELS.family] = model.family;
    labels[GPU_LABELS.computeMajor] = String(model.computeCapability[0]);
    labels[GPU_LABELS.computeMinor] = String(model.computeCapability[1]);
    labels[GPU_LABELS.machine] = model.machine;
    labels['nvidia.com/mig.capable'] = String(model.migCapable);
    labels['node.kubernetes.io/instance-type'] = model.instanceType;
  }
  return labels;
}

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
    ...gpuLabels(spec.product ?? DEFAULT_GPU_PRODUCT, spec.gpus, spec.memoryMiB),
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
