/**
 * The one-process denoiser against Diffusers' real pipelines (FluxPipeline / StableDiffusion3Pipeline run
 * with given latents and prompt embeddings, 4 steps). Acceptance: final latents within max relative error
 * 1e-3 (max|ours − diffusers| / max|diffusers|); each step's guided velocity and latents are checked too,
 * so a failure names the first step that drifts. The sigma table must equal the pipeline's to 1e-6.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { denoise } from '../../../src/runtime/denoise/index.js';
import { denoiseInputs } from '../../../src/runtime/denoise/input-files.js';
import { loadTransformer, NamedTensors } from '../../../src/runtime/model-loader/index.js';
import { packLatents } from '../../../src/runtime/models/flux/packing.js';
import { readSchedulerConfig } from '../../../src/runtime/scheduler/scheduler.js';
import { goldenDenoiseInputs } from '../../support/device-denoise.js';
import { checkpointDir, maxRelativeError, REFERENCE_DIR, referenceCheckpoints } from './fixtures.js';

const DENOISE_TOLERANCE = 1e-3;
const SIGMA_TOLERANCE = 1e-6;

describe('one-process denoise matches the Diffusers pipeline', () => {
  for (const checkpoint of referenceCheckpoints()) {
    const cases = checkpoint.cases.filter((c) => c.kind === 'denoise');
    it.each(cases.map((c) => [c.case, c] as const))(`${checkpoint.name} %s`, async (_, reference) => {
      const folder = checkpointDir(checkpoint);
      const loaded = loadTransformer(folder);
      const file = NamedTensors.read(join(REFERENCE_DIR, reference.file));
      const named = goldenDenoiseInputs(checkpoint.family, file, reference.file);
      if (checkpoint.family === 'flux') {
        // The packing itself is FluxPipeline._pack_latents: the golden's packed latents, exactly.
        const packed = packLatents(file.required('latents_unpacked', ''));
        expect(maxRelativeError(packed, file.required('latents', 'packed noise'))).toBe(0);
      }
      const { inputs } = denoiseInputs(loaded, named);
      const stepErrors: string[] = [];
      const result = await denoise(loaded, inputs, {
        steps: reference.steps ?? Number.NaN,
        guidanceScale: reference.guidance_scale ?? Number.NaN,
        scheduler: readSchedulerConfig(folder),
        onStep: (s) => {
          const v = maxRelativeError(
            s.noisePred,
            file.required(`step${s.index}.noise_pred`, 'golden velocity'),
          );
          const x = maxRelativeError(s.latents, file.required(`step${s.index}.latents`, 'golden latents'));
          stepErrors.push(`step ${s.index}: velocity ${v.toExponential(2)}, latents ${x.toExponential(2)}`);
          expect(v, `step ${s.index} velocity`).toBeLessThan(DENOISE_TOLERANCE);
          expect(x, `step ${s.index} latents`).toBeLessThan(DENOISE_TOLERANCE);
        },
      });
      const golden = file.required('output_latents', 'the golden result');
      const error = maxRelativeError(result.latents, golden);
      process.stdout.write(
        `denoise ${checkpoint.name}/${reference.case}: max relative error ${error.toExponential(2)} (${stepErrors.join('; ')})\n`,
      );
      expect(stepErrors).toHaveLength(reference.steps ?? -1);
      expect(error).toBeLessThan(DENOISE_TOLERANCE);

      const goldenSigmas = file.required('sigmas', 'the golden sigma table').toFloat32Array();
      expect(result.schedule.sigmas.length).toBe(goldenSigmas.length);
      Array.from(result.schedule.sigmas).forEach((s, i) => {
        expect(Math.abs(s - (goldenSigmas[i] as number)), `sigma ${i}`).toBeLessThanOrEqual(SIGMA_TOLERANCE);
      });
      loaded.weights.release();
    });
  }
});

describe('SD3 without CFG (guidance scale ≤ 1)', () => {
  it("runs the conditional branch only: the first velocity equals the pipeline's cond half", async () => {
    const checkpoint = referenceCheckpoints().find((c) => c.name === 'sd35-medium');
    const reference = checkpoint?.cases.find((c) => c.kind === 'denoise');
    if (!checkpoint || !reference) throw new Error('fixture sd35-medium denoise missing');
    const folder = checkpointDir(checkpoint);
    const loaded = loadTransformer(folder);
    const file = NamedTensors.read(join(REFERENCE_DIR, reference.file));
    const named = file.without(['negative_prompt_embeds', 'negative_pooled_prompt_embeds']);
    const { inputs } = denoiseInputs(loaded, named);
    let first: number | null = null;
    await denoise(loaded, inputs, {
      steps: 4,
      guidanceScale: 1,
      scheduler: readSchedulerConfig(folder),
      onStep: (s) => {
        // Only step 0 starts from the same latents as the CFG golden run.
        if (s.index === 0) first = maxRelativeError(s.noisePred, file.required('step0.noise_pred_cond', ''));
      },
    });
    process.stdout.write(`denoise sd35-medium without CFG, step 0 vs the cond half: ${first}\n`);
    expect(first).not.toBeNull();
    expect(first).toBeLessThan(1e-4);
  });
});
