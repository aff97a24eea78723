/**
 * PixArtTransformer2DModel against Diffusers (tools/reference/pipeline_fixtures.py): one forward with a
 * padded caption in a batch of 2 on a non-square grid (≤ 1e-4), and a 4-step classifier-free-guided
 * denoise through DPM-Solver++ as PixArtSigmaPipeline runs it (≤ 1e-3).
 */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DIFFUSERS_WEIGHT_FILES } from '../../../src/runtime/checkpoint/index.js';
import { parsePixartConfig } from '../../../src/runtime/checkpoint/pixart-config.js';
import { pixartBlockCounts, pixartManifest } from '../../../src/runtime/checkpoint/pixart-manifest.js';
import { PixartTransformer } from '../../../src/runtime/models/pixart/transformer.js';
import { ops, Tensor } from '../../../src/runtime/native/index.js';
import {
  loadComponent,
  readComponentConfig,
} from '../../../src/runtime/pipeline/components/component-weights.js';
import { parseDiffusersJson } from '../../../src/runtime/scheduler/diffusers-json.js';
import { parseDpmSolverConfig } from '../../../src/runtime/scheduler/dpm-solver-config.js';
import { DpmSolverMultistep } from '../../../src/runtime/scheduler/dpm-solver-multistep.js';
import { pipelineFixture, readPipelineJson } from '../../support/pipeline-fixtures.js';
import { SafetensorsLite } from '../../support/safetensors-lite.js';
import { maxRelativeError } from '../parallel/harness.js';

const manifest = readPipelineJson<{
  pixart_transformer: {
    forward: { file: string };
    denoise: { file: string; steps: number; guidance_scale: number };
  };
}>('pipelines.json');

function loadPixart(): PixartTransformer {
  const { parsed, weights } = loadComponent(
    readComponentConfig(pipelineFixture('pipelines/pixart-sigma/transformer')),
    {
      files: DIFFUSERS_WEIGHT_FILES,
      parse: (c) => parsePixartConfig(c.fields),
      manifest: pixartManifest,
      blockCounts: pixartBlockCounts,
    },
  );
  return new PixartTransformer(parsed, weights);
}

const tensor = (io: SafetensorsLite, name: string) => Tensor.fromArray(io.f32(name), io.shape(name));

describe('PixArt-Σ transformer matches Diffusers', () => {
  it('one forward: batch 2, 3×5 patches, second caption padded', async () => {
    const model = loadPixart();
    const io = new SafetensorsLite(pipelineFixture(`pipelines/${manifest.pixart_transformer.forward.file}`));
    const out = await model.forward({
      hiddenStates: tensor(io, 'hidden_states'),
      encoderHiddenStates: tensor(io, 'encoder_hidden_states'),
      encoderAttentionMask: tensor(io, 'encoder_attention_mask'),
      timestep: Array.from(io.f32('timestep')),
    });
    expect(out.shape).toEqual(io.shape('sample'));
    expect(maxRelativeError(out.toFloat32Array(), io.f32('sample'))).toBeLessThanOrEqual(1e-4);
  });

  it('a 4-step CFG denoise with DPM-Solver++', async () => {
    const model = loadPixart();
    const { file, steps, guidance_scale: scale } = manifest.pixart_transformer.denoise;
    const io = new SafetensorsLite(pipelineFixture(`pipelines/${file}`));
    const raw = parseDiffusersJson(
      readFileSync(pipelineFixture('pipelines/pixart-sigma/scheduler/scheduler_config.json'), 'utf8'),
    );
    const scheduler = new DpmSolverMultistep(parseDpmSolverConfig(raw, 'scheduler_config.json'), steps);
    const latents = io.f32('latents');
    const text = ops.concat([tensor(io, 'negative_prompt_embeds'), tensor(io, 'prompt_embeds')], 0);
    const mask = ops.concat(
      [tensor(io, 'negative_prompt_attention_mask'), tensor(io, 'prompt_attention_mask')],
      0,
    );
    const shape = io.shape('latents');
    for (let i = 0; i < steps; i++) {
      const x = Tensor.fromArray(Float32Array.from(latents), shape);
      const t = scheduler.timesteps[i] as number;
      const both = await model.forward({
        hiddenStates: ops.concat([x, x], 0),
        encoderHiddenStates: text,
        encoderAttentionMask: mask,
        timestep: [t, t],
      });
      const values = both.toFloat32Array();
      const half = values.length / 2;
      const perChannel = values.length / 2 / 8;
      // Guided noise, then the first 4 of the 8 output channels (learned sigma dropped).
      const guided = new Float32Array(latents.length);
      for (let j = 0; j < guided.length; j++) {
        const u = values[j] as number;
        const c = values[half + j] as number;
        guided[j] = Math.fround(u + Math.fround(scale * Math.fround(c - u)));
      }
      expect(perChannel * 4).toBe(latents.length);
      scheduler.step(i, latents, guided);
    }
    expect(maxRelativeError(latents, io.f32('output_latents'))).toBeLessThanOrEqual(1e-3);
  });
});
