/**
 * Published figures of the GPUs Tessera plans for. Compute is dense BF16 tensor throughput (no
 * sparsity); bandwidths are per GPU and per direction. Keys are the product strings that GPU Feature
 * Discovery writes into `nvidia.com/gpu.product` (the NVML name with spaces as dashes).
 */
export interface GpuSpec {
  /** The GFD product label, e.g. `NVIDIA-H100-80GB-HBM3`. */
  product: string;
  /** Other names users type (`h100`, `a100-80gb`). */
  aliases: readonly string[];
  denseBf16Flops: number;
  /**
   * What long dense GEMMs sustain, measured, where the board's power limit holds the clocks below the
   * boost clock that `denseBf16Flops` assumes (70 W cards); absent where the peak clocks hold.
   */
  sustainedFlops?: number;
  memoryBytes: number;
  memoryBandwidthBytesPerSecond: number;
  /** NVLink bandwidth per GPU per direction; 0 when the GPU has none in its usual form factor. */
  nvlinkBytesPerSecond: number;
  /** PCIe x16 bandwidth per direction of the GPU's host link. */
  pcieBytesPerSecond: number;
}

const GB = 1e9;
const T = 1e12;
const PCIE_GEN4 = 32 * GB; // 64 GB/s bidirectional for x16
const PCIE_GEN5 = 64 * GB; // 128 GB/s bidirectional for x16

export const GPU_TABLE: readonly GpuSpec[] = [
  // NVIDIA H100 Tensor Core GPU datasheet: SXM 989 TFLOPS BF16 dense (1,979 with sparsity), 80 GB HBM3,
  // 3.35 TB/s, NVLink 900 GB/s (450 per direction).
  {
    product: 'NVIDIA-H100-80GB-HBM3',
    aliases: ['h100', 'h100-sxm', 'h100-sxm5', 'nvidia-h100-sxm5-80gb'],
    denseBf16Flops: 989 * T,
    memoryBytes: 80 * GB,
    memoryBandwidthBytesPerSecond: 3350 * GB,
    nvlinkBytesPerSecond: 450 * GB,
    pcieBytesPerSecond: PCIE_GEN5,
  },
  // Same datasheet, PCIe card: 756 TFLOPS BF16 dense, 80 GB HBM2e, 2.0 TB/s; NVLink only as 2-GPU bridge,
  // so a node is planned as PCIe.
  {
    product: 'NVIDIA-H100-PCIe',
    aliases: ['h100-pcie'],
    denseBf16Flops: 756 * T,
    memoryBytes: 80 * GB,
    memoryBandwidthBytesPerSecond: 2000 * GB,
    nvlinkBytesPerSecond: 0,
    pcieBytesPerSecond: PCIE_GEN5,
  },
  // Same datasheet, H100 NVL: 835 TFLOPS BF16 dense, 94 GB, 3.9 TB/s, NVLink bridge 600 GB/s (300 per direction).
  {
    product: 'NVIDIA-H100-NVL',
    aliases: ['h100-nvl'],
    denseBf16Flops: 835 * T,
    memoryBytes: 94 * GB,
    memoryBandwidthBytesPerSecond: 3900 * GB,
    nvlinkBytesPerSecond: 300 * GB,
    pcieBytesPerSecond: PCIE_GEN5,
  },
  // NVIDIA H200 datasheet: SXM 989 TFLOPS BF16 dense, 141 GB HBM3e, 4.8 TB/s, NVLink 900 GB/s.
  {
    product: 'NVIDIA-H200',
    aliases: ['h200', 'h200-sxm', 'nvidia-h200-141gb-hbm3e'],
    denseBf16Flops: 989 * T,
    memoryBytes: 141 * GB,
    memoryBandwidthBytesPerSecond: 4800 * GB,
    nvlinkBytesPerSecond: 450 * GB,
    pcieBytesPerSecond: PCIE_GEN5,
  },
  // NVIDIA H20 (China SKU) product brief: 148 TFLOPS BF16 dense, 96 GB HBM3, 4.0 TB/s, NVLink 900 GB/s.
  {
    product: 'NVIDIA-H20',
    aliases: ['h20'],
    denseBf16Flops: 148 * T,
    memoryBytes: 96 * GB,
    memoryBandwidthBytesPerSecond: 4000 * GB,
    nvlinkBytesPerSecond: 450 * GB,
    pcieBytesPerSecond: PCIE_GEN5,
  },
  // NVIDIA A100 Tensor Core GPU datasheet: 312 TFLOPS BF16 dense; SXM4 80 GB 2,039 GB/s, 40 GB 1,555 GB/s;
  // PCIe 80 GB 1,935 GB/s; NVLink 600 GB/s (300 per direction) on SXM4; PCIe Gen4.
  {
    product: 'NVIDIA-A100-SXM4-80GB',
    aliases: ['a100', 'a100-80gb', 'a100-sxm4-80gb', 'a100-sxm'],
    denseBf16Flops: 312 * T,
    memoryBytes: 80 * GB,
    memoryBandwidthBytesPerSecond: 2039 * GB,
    nvlinkBytesPerSecond: 300 * GB,
    pcieBytesPerSecond: PCIE_GEN4,
  },
  {
    product: 'NVIDIA-A100-SXM4-40GB',
    aliases: ['a100-40gb', 'a100-sxm4-40gb'],
    denseBf16Flops: 312 * T,
    memoryBytes: 40 * GB,
    memoryBandwidthBytesPerSecond: 1555 * GB,
    nvlinkBytesPerSecond: 300 * GB,
    pcieBytesPerSecond: PCIE_GEN4,
  },
  {
    product: 'NVIDIA-A100-80GB-PCIe',
    aliases: ['a100-pcie', 'a100-80gb-pcie'],
    denseBf16Flops: 312 * T,
    memoryBytes: 80 * GB,
    memoryBandwidthBytesPerSecond: 1935 * GB,
    nvlinkBytesPerSecond: 0,
    pcieBytesPerSecond: PCIE_GEN4,
  },
  {
    product: 'NVIDIA-A100-PCIE-40GB',
    aliases: ['a100-40gb-pcie'],
    denseBf16Flops: 312 * T,
    memoryBytes: 40 * GB,
    memoryBandwidthBytesPerSecond: 1555 * GB,
    nvlinkBytesPerSecond: 0,
    pcieBytesPerSecond: PCIE_GEN4,
  },
  // NVIDIA L40S datasheet: 362 TFLOPS BF16 dense (733 with sparsity), 48 GB GDDR6, 864 GB/s, PCIe Gen4, no NVLink.
  {
    product: 'NVIDIA-L40S',
    aliases: ['l40s'],
    denseBf16Flops: 362 * T,
    memoryBytes: 48 * GB,
    memoryBandwidthBytesPerSecond: 864 * GB,
    nvlinkBytesPerSecond: 0,
    pcieBytesPerSecond: PCIE_GEN4,
  },
  // NVIDIA L40 datasheet: 181 TFLOPS BF16 dense (362 with sparsity), 48 GB GDDR6, 864 GB/s, PCIe Gen4.
  {
    product: 'NVIDIA-L40',
    aliases: ['l40'],
    denseBf16Flops: 181 * T,
    memoryBytes: 48 * GB,
    memoryBandwidthBytesPerSecond: 864 * GB,
    nvlinkBytesPerSecond: 0,
    pcieBytesPerSecond: PCIE_GEN4,
  },
  // L20: 119.5 TFLOPS as quoted by xDiT's performance notes (refs/xdit.md §5.1), 48 GB, 864 GB/s, PCIe Gen4.
  {
    product: 'NVIDIA-L20',
    aliases: ['l20'],
    denseBf16Flops: 119.5 * T,
    memoryBytes: 48 * GB,
    memoryBandwidthBytesPerSecond: 864 * GB,
    nvlinkBytesPerSecond: 0,
    pcieBytesPerSecond: PCIE_GEN4,
  },
  // NVIDIA A10 datasheet: 125 TFLOPS BF16 dense, 24 GB, 600 GB/s. AWS publishes no BF16 figure for its
  // A10G variant; we use the A10 figure, which overstates A10G (lower clocks) — plans stay conservative in
  // memory, optimistic in time.
  {
    product: 'NVIDIA-A10G',
    aliases: ['a10g', 'a10'],
    denseBf16Flops: 125 * T,
    memoryBytes: 24 * GB,
    memoryBandwidthBytesPerSecond: 600 * GB,
    nvlinkBytesPerSecond: 0,
    pcieBytesPerSecond: PCIE_GEN4,
  },
  // NVIDIA L4 datasheet: 121 TFLOPS BF16 dense (242 with sparsity), 24 GB, 300 GB/s, PCIe Gen4.
  {
    product: 'NVIDIA-L4',
    aliases: ['l4'],
    denseBf16Flops: 121 * T,
    memoryBytes: 24 * GB,
    memoryBandwidthBytesPerSecond: 300 * GB,
    nvlinkBytesPerSecond: 0,
    pcieBytesPerSecond: PCIE_GEN4,
  },
  // NVIDIA Ada Lovelace architecture whitepaper, RTX 4090: 165.2 TFLOPS BF16 dense with FP32 accumulate,
  // 24 GB GDDR6X, 1,008 GB/s, PCIe Gen4, no NVLink.
  {
    product: 'NVIDIA-GeForce-RTX-4090',
    aliases: ['rtx-4090', '4090', 'rtx4090'],
    denseBf16Flops: 165.2 * T,
    memoryBytes: 24 * GB,
    memoryBandwidthBytesPerSecond: 1008 * GB,
    nvlinkBytesPerSecond: 0,
    pcieBytesPerSecond: PCIE_GEN4,
  },
];

function normalise(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[\s_]+/g, '-');
}

/** Finds a GPU by GFD product label, NVML name or alias; case, spaces and underscores do not matter. */
export function findGpu(name: string): GpuSpec | undefined {
  const key = normalise(name);
  return GPU_TABLE.find((g) => normalise(g.product) === key || g.aliases.some((a) => normalise(a) === key));
}

/** Like findGpu, but throws a message listing the known products. */
export function gpuSpec(name: string): GpuSpec {
  const gpu = findGpu(name);
  if (!gpu) {
    const known = GPU_TABLE.map((g) => g.product).join(', ');
    throw new Error(`unknown GPU product '${name}': known products are ${known} (or their short aliases)`);
  }
  return gpu;
}
