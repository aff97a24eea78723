import type { GpuSpec } from './gpus.js';

export type IntraNodeLink = 'nvlink' | 'pcie';

/**
 * The hardware one group runs on. A node's GPUs form fast domains: the whole node for NVLink; for PCIe,
 * the GPUs under one CPU socket, since traffic between sockets crosses the slower socket link (8×L40
 * is no faster than 4×L40 for this reason, refs/xdit.md §2). Inside a PCIe socket, GPUs under one PCIe
 * switch reach each other peer-to-peer without the CPU's root complex.
 */
export interface ClusterTopology {
  gpu: GpuSpec;
  gpusPerNode: number;
  /** Nodes that can host pods of one group. */
  nodesAvailable: number;
  intraNode: IntraNodeLink;
  /** Network bandwidth of one node in Gbit/s, shared by its GPUs. */
  interNodeGbps: number;
  /** GPUs per fast domain; defaults to the whole node on NVLink and half an 8-GPU node on PCIe. */
  gpusPerDomain?: number;
  /**
   * PCIe only: GPUs under one PCIe switch. Defaults to 2 on PCIe nodes of 8 or more GPUs (the usual
   * 8-GPU PCIe server: a switch per GPU pair, two pairs per socket), which is what xDiT's L40 and L20
   * measurements show (Ulysses 2 scales, Ulysses 4 inside one socket already loses, refs/xdit.md §2),
   * else 1 (every GPU on its own root port).
   */
  gpusPerSwitch?: number;
}

/**
 * The link that two ranks' traffic crosses, fastest first: one PCIe switch, one fast domain (the NVLink
 * node, or a CPU socket's root complex on PCIe), the node (across CPU sockets), the network.
 */
export type LinkLevel = 'switch' | 'domain' | 'node' | 'network';

/** Link levels fastest first. */
export const LINK_LEVELS: readonly LinkLevel[] = ['switch', 'domain', 'node', 'network'];

export function gpusPerDomain(t: ClusterTopology): number {
  if (t.gpusPerDomain !== undefined) return Math.min(t.gpusPerDomain, t.gpusPerNode);
  if (t.intraNode === 'nvlink') return t.gpusPerNode;
  return t.gpusPerNode >= 8 ? Math.ceil(t.gpusPerNode / 2) : t.gpusPerNode;
}

/** GPUs under one PCIe switch (1 on NVLink nodes, where the switch level does not exist). */
export function gpusPerSwitch(t: ClusterTopology): number {
  if (t.intraNode === 'nvlink') return 1;
  const fallback = t.gpusPerNode >= 8 ? 2 : 1;
  return Math.max(1, Math.min(t.gpusPerSwitch ?? fallback, gpusPerDomain(t)));
}

/** Nominal per-GPU, per-direction bandwidth of the links of each level (bytes/s). */
export type NominalLinks = Record<LinkLevel, number>;

export function nominalLinks(t: ClusterTopology): NominalLinks {
  const intra = t.intraNode === 'nvlink' ? t.gpu.nvlinkBytesPerSecond : t.gpu.pcieBytesPerSecond;
  // Across sockets a PCIe transfer still starts on the GPU's PCIe link; the socket link's share is
  // modelled by the calibrated cross-socket efficiency.
  const node = t.intraNode === 'nvlink' ? intra : t.gpu.pcieBytesPerSecond;
  // A node's NIC bandwidth is shared by its GPUs when all of them talk across nodes at once.
  const network = (t.interNodeGbps * 1e9) / 8 / t.gpusPerNode;
  return { switch: intra, domain: intra, node, network };
}

/** Checks a topology's numbers, naming the field that is wrong. */
export function validateTopology(t: ClusterTopology): void {
  const positiveInt = (v: number, field: string) => {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${field} must be a positive integer, got ${v}`);
  };
  positiveInt(t.gpusPerNode, 'gpusPerNode');
  positiveInt(t.nodesAvailable, 'nodesAvailable');
  if (t.gpusPerDomain !== undefined) positiveInt(t.gpusPerDomain, 'gpusPerDomain');
  if (t.gpusPerSwitch !== undefined) positiveInt(t.gpusPerSwitch, 'gpusPerSwitch');
  if (!(t.interNodeGbps > 0)) throw new RangeError(`interNodeGbps must be positive, got ${t.interNodeGbps}`);
  if (t.intraNode === 'nvlink' && t.gpu.nvlinkBytesPerSecond === 0) {
    throw new RangeError(`intraNode is nvlink but ${t.gpu.product} has no NVLink: use pcie`);
  }
}
