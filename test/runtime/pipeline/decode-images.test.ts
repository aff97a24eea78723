/**
 * The end of each pipeline: the final latents the Diffusers pipeline reached, decoded by Tessera (scaling
 * and shift factors, the VAE, Diffusers' 8-bit conversion), give the pipeline's own image within one level
 * on at least 99.9 % of the values.
 */
import { describe, expect, it } from 'vitest';
import { unpackLatents } from '../../../src/runtime/models/flux/packing.js';
import { Tensor } from '../../../src/runtime/native/index.js';
import { ImagePipeline } from '../../../src/runtime/pipeline/image-pipeline.js';
import { pixelAgreement } from '../../support/image-compare.js';
import { pipelineCases, pipelineFixture } from '../../support/pipeline-fixtures.js';
import { SafetensorsLite } from '../../support/safetensors-lite.js';

const cases = pipelineCases();

describe('decoding the pipelines final latents gives their images', () => {
  for (const c of cases) {
    it(`${c.pipeline} ${c.case}`, async () => {
      const pipeline = ImagePipeline.open(pipelineFixture(`pipelines/${c.pipeline}`));
      const io = new SafetensorsLite(pipelineFixture(`pipelines/${c.file}`));
      let latents = Tensor.fromArray(io.f32('latents'), io.shape('latents'));
      if (pipeline.family.family === 'flux') latents = unpackLatents(latents, c.height / 8, c.width / 8);
      const [image] = await pipeline.decode(latents);
      expect([image?.height, image?.width]).toEqual([c.height, c.width]);
      const agreement = pixelAgreement(image?.data ?? [], io.f32('image'));
      expect(agreement.share, JSON.stringify(agreement)).toBeGreaterThanOrEqual(0.999);
    });
  }
});
