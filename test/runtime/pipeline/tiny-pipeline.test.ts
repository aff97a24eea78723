/**
 * The generated tiny pipeline (what the demo and the pipeline benchmark run) loads through the checked
 * paths: tokenizers, both text encoders, the VAE; its prompts encode and its latents decode to an image.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ImagePipeline } from '../../../src/runtime/pipeline/image-pipeline.js';
import { writeTinyPipeline } from '../../../src/runtime/pipeline/tiny/tiny-pipeline.js';

describe('generated tiny pipeline', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-tiny-pipeline-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('encodes a prompt, draws noise and decodes it to an image', async () => {
    const pipeline = ImagePipeline.open(writeTinyPipeline(join(dir, 'flux')));
    expect(pipeline.family.family).toBe('flux');
    const request = pipeline.resolve({
      prompt: 'a photo of a cat on the moon',
      height: 64,
      width: 96,
      seed: 3,
    });
    expect(request.steps).toBe(28);
    const tensors = pipeline.encode(request);
    expect(tensors.prompt_embeds?.shape).toEqual([1, 512, 32]);
    expect(tensors.pooled_prompt_embeds?.shape).toEqual([1, 32]);
    const noise = pipeline.noise(request);
    expect(noise.shape).toEqual([1, 4, 8, 12]);
    const [image] = await pipeline.decode(noise);
    expect([image?.height, image?.width]).toEqual([64, 96]);
    const levels = new Set(image?.data);
    expect(levels.size).toBeGreaterThan(32);
  });

  it('refuses sizes the pipeline cannot make, naming the field', () => {
    const pipeline = ImagePipeline.open(writeTinyPipeline(join(dir, 'flux2')));
    expect(() => pipeline.resolve({ prompt: 'x', height: 60 })).toThrow(/multiple of 16/);
    expect(() => pipeline.resolve({ prompt: '  ' })).toThrow(/prompt must be a non-empty string/);
  });
});
