// Values that overflow float32: refused at the door with a 400 naming the field when the input itself is
// out of range, and a 500 that says so when a real run produces NaN or ±Infinity — never a 200 with NaN.
import { beforeAll, describe, expect, it } from 'vitest';
import { denoise } from '../../../src/runtime/denoise/index.js';
import { type LoadedTransformer, loadTransformer } from '../../../src/runtime/model-loader/index.js';
import { readSchedulerConfig } from '../../../src/runtime/scheduler/scheduler.js';
import { DenoiseExecutor } from '../../../src/runtime/serving/denoise-executor.js';
import { servingLimitsFromPlan } from '../../../src/runtime/serving/index.js';
import { checkpointDir } from '../../support/reference-fixtures.js';
import * as harness from './harness.js';
import { serverPerTest } from './server-per-test.js';

const { decodeF32, errorOf, getJson, postJson, tensor } = harness;
const server = serverPerTest();

// The tiny flux-dev fixture: in_channels 16, joint_attention_dim 24, pooled_projection_dim 20; the tiny
// plan's 64×64 image is an 8×8 latent grid, 16 packed tokens.
const FLUX_DEV_DIMS = { inChannels: 16, jointAttentionDim: 24, pooledProjectionDim: 20 };
const limits = servingLimitsFromPlan(harness.tinyPlan('flux', 2), FLUX_DEV_DIMS);

function body(latent: (i: number) => number, extra: Record<string, unknown> = {}) {
  return {
    latents: tensor([1, 16, 16], latent),
    promptEmbeds: tensor([1, 4, 24], (i) => Math.sin(i) / 2),
    pooledPromptEmbeds: tensor([1, 20], (i) => Math.cos(i) / 2),
    ...extra,
  };
}

describe('non-finite values', () => {
  it('refuses a guidance scale that overflows float32 (1e308) with a 400 naming the field', async () => {
    const executor = new harness.InstantExecutor(2);
    const current = await harness.startServer(executor, { limits });
    server.current = current;
    for (const guidanceScale of [1e308, 3.5e38, 101]) {
      const answer = await postJson(
        current.base,
        body(() => 0.1, { guidanceScale }),
      );
      expect(answer.status).toBe(400);
      expect(errorOf(answer.json).field).toBe('guidanceScale');
      expect(errorOf(answer.json).message).toContain(String(guidanceScale));
    }
    const fine = await postJson(
      current.base,
      body(() => 0.1, { guidanceScale: 100 }),
    );
    expect(fine.status).toBe(200);
    expect(executor.batches).toHaveLength(1);
  });

  describe('a real run over the tiny flux-dev checkpoint', () => {
    let loaded: LoadedTransformer;
    beforeAll(() => {
      loaded = loadTransformer(checkpointDir('flux-dev'));
    });

    it('answers 500 saying the result is not finite, stays ready, and serves the next request', async () => {
      const scheduler = readSchedulerConfig(checkpointDir('flux-dev'));
      const executor = new DenoiseExecutor({
        family: loaded.arch.family,
        latentHeight: 8,
        latentWidth: 8,
        maxBatch: 2,
        denoise: async (inputs, options) =>
          (await denoise(loaded, inputs, { ...options, scheduler })).latents,
      });
      const current = await harness.startServer(executor, { limits });
      server.current = current;
      // Finite float32 inputs near its maximum overflow inside the first linear layer.
      const overflow = await postJson(
        current.base,
        body(() => 3e38, { steps: 2 }),
      );
      expect(overflow.status).toBe(500);
      expect(errorOf(overflow.json).code).toBe('non_finite_result');
      expect(errorOf(overflow.json).message).toMatch(
        /not finite: element \d+ of the latents is (NaN|-?Infinity)/,
      );
      expect((await getJson(current.base, '/readyz')).status).toBe(200);

      const normal = await postJson(
        current.base,
        body((i) => Math.sin(i), { steps: 2 }),
      );
      expect(normal.status).toBe(200);
      const latents = decodeF32((normal.json.latents as { data: string }).data);
      expect(latents.every((v) => Number.isFinite(v))).toBe(true);
    });
  });
});
