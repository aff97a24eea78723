/**
 * On a GPU: Flux's, SD3's and PixArt-Σ's denoise goldens through the one denoise loop with the weights on
 * the GPU, in f32 and bf16, against the Diffusers golden (and the CPU); each step's host↔device copies (Flux
 * uploads its rotary tables in the first step, PixArt its position table and reads its caption masks, then
 * nothing; SD3 nothing); a bf16 PipeFusion pair of stages against the one-process bf16 loop; and `tessera
 * denoise` as a 2-rank Ulysses group sharing the GPU (gloo staging device tensors) against the golden.
 *
 * Elsewhere it prints why and skips (the same paths run on the CUDA emulation in
 * test/native/cuda-emulation.test.ts, which checks the plumbing but not the CUDA kernels' numbers).
 */
import { describe, expect, it } from 'vitest';
import { cudaStatus } from '../../src/runtime/native/index.js';
import {
  DEVICE_CASES,
  denoiseOn,
  pixartDenoiseOn,
  relativeError,
  sharedGpuGroup,
  sharedGpuPipeFusionBf16,
} from '../support/device-denoise.js';

let why = '';
let gpu = false;
try {
  const status = cudaStatus();
  gpu = status.available;
  why = status.reason ?? '';
} catch (error) {
  why = String(error);
}
if (!gpu) console.warn(`denoise-on-device: skipped — no CUDA device here (${why})`);

/**
 * Bounds on max|ours − golden| / max|golden|. f32: the CPU's bound (denoise-parity). bf16: activations
 * and weights rounded to 8 bits of mantissa over 4 steps; an estimate set before any GPU run, to be
 * replaced by what the first run measures (it prints the figures).
 */
const BOUND = { f32: 1e-3, bf16: 5e-2 } as const;

describe.skipIf(!gpu)('the denoise loop on the GPU', () => {
  for (const which of DEVICE_CASES) {
    for (const dtype of ['f32', 'bf16'] as const) {
      it(`${which.checkpoint} ${which.case} (${dtype} weights): the golden, no copy in a step after the first`, async () => {
        const cuda = await denoiseOn(which, 'cuda', dtype);
        const cpu = await denoiseOn(which, 'cpu');
        const error = relativeError(cuda.latents, cuda.golden);
        console.log(
          `denoise-on-device: ${which.checkpoint}/${which.case} ${dtype}: vs golden ${error.toExponential(2)}, ` +
            `vs CPU ${relativeError(cuda.latents, cpu.latents).toExponential(2)}, copies per step ` +
            JSON.stringify(cuda.copies.map((c) => c.hostToDevice + c.deviceToHost)),
        );
        expect(error).toBeLessThan(BOUND[dtype]);
        expect(cuda.copies).toHaveLength(cuda.steps);
        for (const [i, c] of cuda.copies.entries()) {
          if (i > 0 || which.checkpoint !== 'flux-dev') {
            expect(c.hostToDevice + c.deviceToHost, `step ${i}`).toBe(0);
          }
        }
      });
    }
  }

  for (const dtype of ['f32', 'bf16'] as const) {
    it(`pixart-sigma CFG DPM-Solver++ (${dtype} weights): the golden, no copy in a step after the first`, async () => {
      const cuda = await pixartDenoiseOn('cuda', dtype);
      const error = relativeError(cuda.latents, cuda.golden);
      console.log(
        `denoise-on-device: pixart-sigma ${dtype}: vs golden ${error.toExponential(2)}, copies per step ` +
          JSON.stringify(cuda.copies.map((c) => c.hostToDevice + c.deviceToHost)),
      );
      expect(error).toBeLessThan(BOUND[dtype]);
      for (const [i, c] of cuda.copies.entries()) {
        if (i > 0) expect(c.hostToDevice + c.deviceToHost, `step ${i}`).toBe(0);
      }
    });
  }

  it('PipeFusion with bf16 weights: 2 stages sharing the GPU give the one-process bf16 result', async () => {
    const outcome = await sharedGpuPipeFusionBf16({});
    if ('failed' in outcome) throw new Error(outcome.failed);
    console.log(`denoise-on-device: pp2 bf16 on cuda:0 vs one process ${outcome.error.toExponential(2)}`);
    // The same bf16 computations but for the GEMMs' shapes (cuBLASLt may sum in another order).
    expect(outcome.error).toBeLessThan(1e-2);
  }, 240_000);

  it('tessera denoise: a 2-rank Ulysses group sharing the GPU gives the golden', async () => {
    const outcome = await sharedGpuGroup({});
    if ('failed' in outcome) throw new Error(outcome.failed);
    console.log(`denoise-on-device: 2 ranks on cuda:0 vs golden ${outcome.error.toExponential(2)}`);
    expect(outcome.error).toBeLessThan(BOUND.f32);
  }, 240_000);
});
