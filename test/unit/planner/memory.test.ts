import { describe, expect, it } from 'vitest';
import { modelPreset } from '../../../src/shared/models/index.js';
import type { Degrees } from '../../../src/shared/plan/index.js';
import { memoryPerGpu, workload } from '../../../src/shared/planner/index.js';
import { deg, request } from './fixtures.js';

describe('memory model', () => {
  const flux = modelPreset('flux-dev');
  const r = request();
  const w = workload(flux, r);
  const m = (d: Degrees) => memoryPerGpu(flux, r, w, d);

  it('holds the whole transformer in bf16 without PipeFusion', () => {
    expect(m(deg({})).weights).toBeCloseTo(flux.facts.parameters * 2 + flux.vaeBytes, -3);
    expect(m(deg({ ulysses: 4 })).weights).toBe(m(deg({})).weights);
  });

  it('holds one stage of blocks per PipeFusion rank, plus its KV buffers', () => {
    const pp4 = m(deg({ pipefusion: 4 }));
    // 57 blocks over 4 stages: ceil(57/4) = 15 blocks on the largest stage.
    expect(pp4.weights).toBeCloseTo((flux.facts.parameters * 2 * 15) / 57 + flux.vaeBytes, -3);
    expect(m(deg({})).kvBuffers).toBe(0);
    // 15 layers × K and V × 4608 tokens × 3072 × 2 bytes.
    expect(pp4.kvBuffers).toBe(15 * 2 * 4608 * 3072 * 2);
    // After the Ulysses all-to-all a rank keeps only its heads' share of the buffer.
    expect(m(deg({ pipefusion: 2, ulysses: 2 })).kvBuffers).toBe((29 * 2 * 4608 * 3072 * 2) / 2);
  });

  it('divides activations by the sequence-parallel degree', () => {
    expect(m(deg({ ulysses: 2, ring: 2 })).activations).toBeCloseTo(m(deg({})).activations / 4, 0);
  });

  it('sizes the VAE peak by the image area', () => {
    const big = memoryPerGpu(
      flux,
      request({ height: 2048, width: 2048 }),
      workload(flux, request({ height: 2048, width: 2048 })),
      deg({}),
    );
    expect(big.vaePeak).toBe(4 * m(deg({})).vaePeak);
  });
});
