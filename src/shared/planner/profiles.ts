import { FITTED_COMPILED, FITTED_EAGER } from './fitted-constants.js';
import type { StageCut } from './memory.js';

/**
 * Efficiency constants of the cost model. They are global: one set per runtime mode, fitted once to
 * the published xDiT latencies (test/calibration/, docs/planner.md), never per configuration.
 */
export interface EfficiencyProfile {
  name: string;
  /** Fraction of dense peak that large GEMMs and attention kernels reach. */
  computeEfficiency: number;
  /** Tokens per kernel at which efficiency falls to half of `computeEfficiency` (small-GEMM penalty). */
  halfEfficiencyTokens: number;
  /** Fraction of nominal link bandwidth collectives and P2P reach, per link level. */
  nvlinkEfficiency: number;
  pcieEfficiency: number;
  /** PCIe traffic between CPU sockets, as a fraction of the GPU's PCIe bandwidth. */
  crossSocketEfficiency: number;
  networkEfficiency: number;
  /** Fixed cost of one collective or P2P operation inside a fast domain (launch + synchronisation). */
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
  /** Host time to launch one block's kernels; a step cannot be faster than the host. */
  hostSecondsPerLayer: number;
  /** Per-request time outside the denoiser: text encoders, scheduler set-up, handing the image back. */
  requestOverheadSeconds: number;
  /** VAE decoder FLOPs per output pixel (≈1e7 from the decoder's 3×3 convolutions) and their efficiency. */
  vaeFlopsPerPixel: number;
  vaeEfficiency: number;
  /** How the runtime predicted cuts PipeFusion stages: Tessera by parameters, xDiT by block count. */
  stageCut: StageCut;
}

/**
 * Compiled kernels (xDiT with torch.compile, Tessera's native runtime target). Fitted by
 * `npx tsx tools/calibrate/fit-planner.ts` on the compiled rows of test/calibration/xdit-published.ts;
 * the fit and its residuals are in docs/planner.md. Constants the data cannot identify are fixed and
 * say so.
 */
export const COMPILED_PROFILE: EfficiencyProfile = {
  name: 'compiled',
  // Fixed, not fitted: the published runs never split a kernel below ~500 tokens, so the data cannot
  // see the small-GEMM penalty; 128 rows is where a tensor-core GEMM of width ≥ 3072 still runs at
  // about half of its large-size rate.
  halfEfficiencyTokens: 128,
  // Fixed, not fitted: no multi-node rows were published.
  networkEfficiency: 0.7,
  // Fixed, not fitted: a typical NCCL small-message latency over RDMA.
  networkLatencySeconds: 50e-6,
  // Compiled kernels are queued by CUDA graphs: no host floor.
  hostSecondsPerLayer: 0,
  // Fixed, not fitted: ≈1e7 FLOPs per output pixel is our count of the decoder's 3×3 convolutions
  // (channels 512/512/256/128 over 1/8 … 1/1 resolution); 40 % is an assumed convolution efficiency.
  vaeFlopsPerPixel: 1e7,
  vaeEfficiency: 0.4,
  stageCut: 'parameters',
  ...FITTED_COMPILED,
};

/**
 * Eager PyTorch (xDiT without compilation): slower kernels and a host-bound floor. Shares the link
 * constants of the compiled fit; only what differs between the modes was refitted on the eager rows.
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
