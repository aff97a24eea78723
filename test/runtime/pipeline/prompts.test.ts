/**
 * Prompt encoding per family against each Diffusers pipeline's own encode_prompt on the tiny pipelines
 * (FLUX: CLIP-L pooled + T5 512; SD3: CLIP-L/G penultimate ⊕ padded + T5 256, pooled L ⊕ G, negative
 * prompt; PixArt-Σ: lower/strip + masked T5 300, masks, "" negative), ≤ 1e-4 relative; masks exact.
 */
import { describe, expect, it } from 'vitest';
import { readModelIndex } from '../../../src/runtime/checkpoint/index.js';
import { encodeFluxPrompts, FLUX_TEXT } from '../../../src/runtime/pipeline/prompts/flux.js';
import { encodePixartPrompts, PIXART_TEXT } from '../../../src/runtime/pipeline/prompts/pixart.js';
import { loadTextStack, type PromptTensors } from '../../../src/runtime/pipeline/prompts/prompt-encoder.js';
import { encodeSd3Prompts, SD3_TEXT } from '../../../src/runtime/pipeline/prompts/sd3.js';
import { pipelineCases, pipelineFixture } from '../../support/pipeline-fixtures.js';
import { SafetensorsLite } from '../../support/safetensors-lite.js';
import { maxRelativeError } from '../parallel/harness.js';

const cases = pipelineCases();

const ENCODERS = {
  'flux-dev': { text: FLUX_TEXT, encode: encodeFluxPrompts, length: 512 },
  sd3: { text: SD3_TEXT, encode: encodeSd3Prompts, length: 256 },
  'pixart-sigma': { text: PIXART_TEXT, encode: encodePixartPrompts, length: 300 },
} as const;

describe('prompt encoding matches the Diffusers pipelines', () => {
  for (const c of cases) {
    it(`${c.pipeline} ${c.case}: ${JSON.stringify(c.prompt)}`, () => {
      const spec = ENCODERS[c.pipeline as keyof typeof ENCODERS];
      const folder = pipelineFixture(`pipelines/${c.pipeline}`);
      const stack = loadTextStack(folder, readModelIndex(folder), spec.text.tokenizers, spec.text.encoders);
      const golden = new SafetensorsLite(pipelineFixture(`pipelines/${c.file}`));
      const ours: PromptTensors = spec.encode(stack, {
        prompts: [c.prompt],
        negativePrompt: c.negative_prompt ?? '',
        withNegative: c.pipeline !== 'flux-dev',
        maxSequenceLength: spec.length,
      });
      const names = golden.names().filter((n) => n !== 'image' && n !== 'latents');
      expect(Object.keys(ours).sort()).toEqual(names.sort());
      for (const name of names) {
        expect(ours[name]?.shape, name).toEqual(golden.shape(name));
        const error = maxRelativeError(
          (ours[name] as NonNullable<PromptTensors[string]>).toFloat32Array(),
          golden.f32(name),
        );
        expect(error, name).toBeLessThanOrEqual(name.endsWith('mask') ? 0 : 1e-4);
      }
    });
  }
});
