/**
 * PixArt-Σ against Diffusers (tools/reference/pipeline_fixtures.py), through the family and the checked
 * loader: one forward of PixArtTransformer2DModel with a padded caption in a batch of 2 on a non-square
 * grid (≤ 1e-4), and the one-process denoiser's 4-step classifier-free-guided DPM-Solver++ run as
 * PixArtSigmaPipeline runs it with given embeddings, masks and latents (≤ 1e-3).
 */
import { describe, expect, it } from 'vitest';
import { denoise } from '../../../src/runtime/denoise/index.js';
import { denoiseInputs } from '../../../src/runtime/denoise/input-files.js';
import { loadTransformer, NamedTensors } from '../../../src/runtime/model-loader/index.js';
import { localAttention } from '../../../src/runtime/models/common/attention.js';
import { readSchedulerConfig } from '../../../src/runtime/scheduler/scheduler.js';
import { pipelineFixture, readPipelineJson } from '../../support/pipeline-fixtures.js';
import { maxRelativeError } from '../parallel/harness.js';

const manifest = readPipelineJson<{
  pixart_transformer: {
    forward: { file: string };
    denoise: { file: string; steps: number; guidance_scale: number };
  };
}>('pipelines.json');
const FOLDER = pipelineFixture('pipelines/pixart-sigma');

describe('PixArt-Σ matches Diffusers', () => {
  it('one forward: batch 2, 3×5 patches, second caption padded', async () => {
    const loaded = loadTransformer(FOLDER);
    expect(loaded.arch.facts.family).toBe('pixart');
    const file = NamedTensors.read(pipelineFixture(`pipelines/${manifest.pixart_transformer.forward.file}`));
    const out = await loaded.model.forwardNamed(file, localAttention);
    const golden = file.required('sample', 'the golden output');
    expect(out.shape).toEqual(golden.shape);
    expect(maxRelativeError(out.toFloat32Array(), golden.toFloat32Array())).toBeLessThanOrEqual(1e-4);
  });

  it('a 4-step CFG denoise with DPM-Solver++ through the one-process denoiser', async () => {
    const loaded = loadTransformer(FOLDER);
    const { file, steps, guidance_scale: guidanceScale } = manifest.pixart_transformer.denoise;
    const named = NamedTensors.read(pipelineFixture(`pipelines/${file}`));
    const { inputs } = denoiseInputs(loaded, named);
    const result = await denoise(loaded, inputs, {
      steps,
      guidanceScale,
      scheduler: readSchedulerConfig(FOLDER),
    });
    const golden = named.required('output_latents', 'the golden result');
    expect(result.latents.shape).toEqual(golden.shape);
    expect(maxRelativeError(result.latents.toFloat32Array(), golden.toFloat32Array())).toBeLessThanOrEqual(
      1e-3,
    );
  });
});
