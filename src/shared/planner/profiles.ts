import { FITTED_COMPILED, FITTED_EAGER } from './fitted-constants.js';
import type { StageCut } from './memory.js';

/** How the runtime being predicted executes a plan, where that changes its cost or what it can run. */
export interface RuntimeTraits {
  /** How PipeFusion stages are cut: Tessera by parameters, xDiT by block count (refs/xdit.md §3.5). */
  stageCut: StageCut;
  /**
   * Whether Ring can run inside PipeFusion's patch steps. xDiT rotates the cached K/V buffer around
   * the ring (refs/xdit.md §3.6); Tessera's runtime keeps buffers per Ulysses head group and refuses
   * Ring with PipeFusion unless every step is a warm-up step (checkpoint-fit.ts), so the planner does not
   * propose it.
   */
  ringWithPipefusion: boolean;
  /** Whether the VAE decode is split over the replica's ranks (Tessera always; xDiT only when asked). */
  parallelVae: boolean;
}

export const TESSERA_RUNTIME: RuntimeTraits = {
  stageCut: 'parameters',
  ringWithPipefusion: false,
  parallelVae: true,
};

/** xDiT as it ran the published measurements (the calibration predicts those runs). */
export const XDIT_RUNTIME: RuntimeTraits = {
  stageCut: 'blocks',
  ringWithPipefusion: true,
  parallelVae: false,
};

/**
 * Efficiency constants of the cost model. They are global: one set per execution mode (compiled or
 * eager kernels), fitted once to xDiT's published latencies (test/calibration/, docs/planner.md), never
 * per configuration or per table.
 */
export interface EfficiencyProfile {
  name: string;
  /** Fraction of dense peak that large GEMMs and attention kernels reach. */
  computeEfficiency: number;
  /** Tokens per kernel at which efficiency falls to half of `computeEfficiency` (small-GEMM penalty). */
  halfEfficiencyTokens: number;
  /** Model width (hidden size) at which linear-layer efficiency falls to half (narrow GEMMs). */
  halfEfficiencyWidth: number;
  /** Head dimension at which attention-kernel efficiency falls to half. */
  halfEfficiencyHeadDim: number;
  /** Host time to launch one block's kernels; a step cannot be faster than the host. */
  hostSecondsPerLayer: number;
  /** Fraction of nominal bandwidth point-to-point transfers reach, per link level. */
  nvlinkEfficiency: number;
  /** PCIe peer-to-peer under one switch. */
  pcieSwitchEfficiency: number;
  /** PCIe through one CPU socket's root complex. */
  pcieEfficiency: number;
  /** PCIe between CPU sockets, as a fraction of the GPU's PCIe bandwidth. */
  crossSocketEfficiency: number;
  networkEfficiency: number;
  /**
   * What an all-to-all through one socket's root complex reaches, as a fraction of the point-to-point
   * rate there: every GPU's traffic meets in the CPU.
   */
  pcieAllToAllEfficiency: number;
  /**
   * The same for an all-to-all across CPU sockets, as a fraction of the cross-socket point-to-point
   * rate: there every GPU's traffic also shares the socket link (xDiT's 8×L40 figures put Ulysses 8's
   * all-to-all at about twice Ulysses 4's per step at 1024², 2048² and 4096², although each GPU sends
   * half the bytes).
   */
  crossSocketAllToAllEfficiency: number;
  /** Fixed cost of one collective or P2P operation inside a node (launch + synchronisation). */
  collectiveLatencySeconds: number;
  /** The same across CPU sockets on PCIe, where NCCL stages through host memory. */
  crossSocketLatencySeconds: number;
  /** The same across nodes. */
  networkLatencySeconds: number;
  /** Fraction of a Ring hop's transfer hidden behind the attention block it overlaps. */
  ringOverlap: number;
  /** Fixed cost of Ring attention per layer (fp32 output and LSE buffers, final cast), on device and host. */
  ringLayerSeconds: number;
  /** Extra cost of each Ring step per layer (block kernel launch, LSE merge), on device and host. */
  ringStepSeconds: number;
  /** Fixed cost of one PipeFusion patch on one stage: its receive, send and synchronisation. */
  patchSeconds: number;
  /**
   * Per-request time outside the denoiser besides the VAE decode: text encoders, scheduler set-up,
   * handing the image back (the median of what the calibration tables show).
   */
  requestOverheadSeconds: number;
  /** VAE decoder FLOPs per output pixel (≈1e7 from the decoder's 3×3 convolutions) and their efficiency. */
  vaeFlopsPerPixel: number;
  vaeEfficiency: number;
  /** The runtime being predicted. */
  runtime: RuntimeTraits;
}

/**
 * Compiled kernels (xDiT with torch.compile; Tessera's native runtime targets this). Fitted by
 * `npx tsx tools/calibrate/fit-planner.ts` on the compiled tables of test/calibration/published/; the
 * fit and its residuals are in docs/planner.md. Constants the data cannot identify are fixed and say so.
 */
export const COMPILED_PROFILE: EfficiencyProfile = {
  name: 'compiled',
  // Compiled kernels are queued by CUDA graphs: no host floor.
  hostSecondsPerLayer: 0,
  // Fixed, not fitted: ≈1e7 FLOPs per output pixel is our count of the decoder's 3×3 convolutions
  // (channels 512/512/256/128 over 1/8 … 1/1 resolution).
  vaeFlopsPerPixel: 1e7,
  // Fixed, not fitted: an assumed convolution efficiency (xDiT's published times do not separate the
  // VAE decode from the rest of a request).
  vaeEfficiency: 0.4,
  runtime: TESSERA_RUNTIME,
  ...FITTED_COMPILED,
};

/**
 * Eager PyTorch (xDiT without compilation): slower kernels and a host-bound floor. Shares the link
 * constants of the compiled fit; only what differs between the modes is refitted on the eager tables.
 */
export const EAGER_PROFILE: EfficiencyProfile = {
  ...COMPILED_PROFILE,
  name: 'eager',
  ...FITTED_EAGER,
};

export const PROFILES: Readonly<Record<string, EfficiencyProfile>> = {
  compiled: COMPILED_PROFILE,
  eager: EAGER_PROFILE,
};
