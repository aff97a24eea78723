import type { Int32, Quantity } from './primitives.js';

export const INTRA_NODE_LINKS = ['NVLink', 'PCIe'] as const;
export type IntraNodeLink = (typeof INTRA_NODE_LINKS)[number];

/**
 * Hints about the GPUs groups will run on. Each field set here overrides what the operator reads from
 * the nodes (allocatable `nvidia.com/gpu`, GPU feature discovery labels), so a group can be planned
 * before its nodes exist, e.g. when a node autoscaler starts from zero. Fields left out are read from
 * the nodes; with no matching nodes and no hints the DiTInference waits with
 * `TopologyResolved=False`.
 */
export interface TopologySpec {
  /**
   * GPUs per node that one pod may use (a pod never spans nodes).
   * @minimum 1
   * @maximum 64
   */
  gpusPerNode?: Int32;
  /**
   * GPU product as GPU feature discovery writes it in `nvidia.com/gpu.product`, e.g.
   * `NVIDIA-H100-80GB-HBM3`, `NVIDIA-L40S`. It picks the performance model of the planner.
   * @minLength 1
   * @maxLength 128
   */
  gpuProduct?: string;
  /** Memory of one GPU, e.g. `80Gi`; the planner keeps weights and activations below it. */
  gpuMemory?: Quantity;
  /** How GPUs inside one node talk: `NVLink` (NVSwitch or bridges) or `PCIe`. */
  intraNodeLink?: IntraNodeLink;
  /**
   * Network bandwidth between two nodes in gigabits per second (e.g. 400 for one 400G NIC per GPU
   * pair, 3200 for 8×400G InfiniBand).
   * @minimum 1
   * @maximum 100000
   */
  interNodeBandwidthGbps?: Int32;
}
