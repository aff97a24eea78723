import { describe, expect, it } from 'vitest';
import {
  fluxImageIds,
  fluxLatentSize,
  fluxTextIds,
  type LatentShape,
  packLatents,
  unpackLatents,
} from '../../../src/runtime/flux/packing.js';
import { REFERENCE_DIR, referenceCheckpoint } from '../../support/reference-fixtures.js';
import { SafetensorsLite } from '../../support/safetensors-lite.js';

const shapeOf = (dims: number[]): LatentShape => {
  const [batch = 0, channels = 0, height = 0, width = 0] = dims;
  return { batch, channels, height, width };
};

describe('Flux latent packing vs diffusers', () => {
  const flux = referenceCheckpoint('flux-dev');
  const denoise = flux.cases.find((c) => c.kind === 'denoise');
  if (!denoise) throw new Error('flux-dev has no denoise case in manifest.json');
  const file = new SafetensorsLite(`${REFERENCE_DIR}/${denoise.file}`);
  const shape = shapeOf(file.shape('latents_unpacked'));

  it('uses a non-square latent', () => {
    expect(shape.height).not.toBe(shape.width);
  });

  it('packs exactly as FluxPipeline._pack_latents', () => {
    const packed = packLatents(file.f32('latents_unpacked'), shape);
    expect(file.shape('latents')).toEqual([
      shape.batch,
      (shape.height / 2) * (shape.width / 2),
      shape.channels * 4,
    ]);
    expect(packed).toEqual(file.f32('latents'));
  });

  it('unpacks exactly (inverse), including the denoised output', () => {
    expect(unpackLatents(file.f32('latents'), shape)).toEqual(file.f32('latents_unpacked'));
    const out = file.f32('output_latents');
    expect(packLatents(unpackLatents(out, shape), shape)).toEqual(out);
  });

  it('builds img_ids and txt_ids as the pipeline does', () => {
    for (const c of referenceCheckpoint('flux-dev').cases.filter((x) => x.kind === 'forward')) {
      const fwd = new SafetensorsLite(`${REFERENCE_DIR}/${c.file}`);
      const tokens = fwd.shape('img_ids')[0] ?? 0;
      expect(c.inputs.hidden_states?.[1]).toBe(tokens);
      // Recover the latent grid from the ids' last row (max row, max col).
      const ids = fwd.f32('img_ids');
      const rows = (ids[(tokens - 1) * 3 + 1] ?? 0) + 1;
      const cols = (ids[(tokens - 1) * 3 + 2] ?? 0) + 1;
      expect(rows * cols).toBe(tokens);
      expect(fluxImageIds(rows * 2, cols * 2)).toEqual(ids);
      const textLen = fwd.shape('txt_ids')[0] ?? 0;
      expect(fluxTextIds(textLen)).toEqual(fwd.f32('txt_ids'));
    }
  });
});

describe('Flux packing input checks', () => {
  it('maps pixel sizes to the latent grid and rejects sizes the pipeline would round', () => {
    expect(fluxLatentSize(1024, 768)).toEqual({ height: 128, width: 96 });
    expect(() => fluxLatentSize(1000, 1024)).toThrow(
      /height must be a positive multiple of 16 pixels, got 1000/,
    );
  });

  it('rejects odd sides and wrong value counts', () => {
    expect(() => packLatents(new Float32Array(12), { batch: 1, channels: 1, height: 3, width: 4 })).toThrow(
      /even height and width/,
    );
    expect(() => unpackLatents(new Float32Array(10), { batch: 1, channels: 1, height: 2, width: 4 })).toThrow(
      /10 values do not fill latent shape \[1, 1, 2, 4\] \(8\)/,
    );
    expect(() => fluxTextIds(0)).toThrow(/positive integer/);
  });
});
