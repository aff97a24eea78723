/**
 * The ordering traps of runtime.md, each pinned by hand-computed values (the parity tests would catch
 * them too, but not say which one broke): the timestep sinusoid is [cos, sin]; RoPE pairs are interleaved
 * per axis; packing is (channel, dy, dx) per 2×2 patch in row-major order; AdaLayerNormZero chunks start
 * with shift, AdaLayerNormContinuous with scale.
 */
import { describe, expect, it } from 'vitest';
import {
  AdaLayerNormContinuous,
  ModulationProjection,
} from '../../../src/runtime/models/common/adaptive-norm.js';
import { timestepSinusoid } from '../../../src/runtime/models/common/timestep-embedding.js';
import { WeightMap } from '../../../src/runtime/models/common/weights.js';
import { imageIds, packLatents, unpackLatents } from '../../../src/runtime/models/flux/packing.js';
import { fluxRopeTables } from '../../../src/runtime/models/flux/rope.js';
import { ops, Tensor } from '../../../src/runtime/native/index.js';

const close = (actual: number, expected: number) => expect(actual).toBeCloseTo(expected, 5);

describe('timestep sinusoid', () => {
  it('is [cos(t·ω_0..127), sin(t·ω_0..127)] with ω_j = 10000^(−j/128)', () => {
    const t = 0.75;
    const row = timestepSinusoid([t]).toFloat32Array();
    expect(row.length).toBe(256);
    close(row[0] as number, Math.cos(t));
    close(row[128] as number, Math.sin(t));
    const w5 = 10000 ** (-5 / 128);
    close(row[5] as number, Math.cos(t * w5));
    close(row[128 + 5] as number, Math.sin(t * w5));
  });
});

describe('Flux RoPE tables', () => {
  it('repeat each frequency twice (interleaved pairs) and concatenate the axes', () => {
    const ids = Tensor.of([0, 3, 5], [1, 3]);
    const { cos, sin } = fluxRopeTables(ids, [2, 2, 4]);
    expect(cos.shape).toEqual([1, 8]);
    const c = Array.from(cos.toFloat32Array());
    const s = Array.from(sin.toFloat32Array());
    // axis 0 (pos 0, ω 1), axis 1 (pos 3, ω 1), axis 2 (pos 5, ω 1 and 10000^(−2/4) = 0.01).
    const angles = [0, 0, 3, 3, 5, 5, 0.05, 0.05];
    angles.forEach((a, i) => {
      close(c[i] as number, Math.cos(a));
      close(s[i] as number, Math.sin(a));
    });
  });
});

describe('Flux latent packing', () => {
  it('token (r, c) holds channel-major 2×2 patches; unpack inverts it; ids are (0, r, c)', () => {
    const [channels, height, width] = [3, 4, 6];
    const values = Array.from({ length: channels * height * width }, (_, i) => i);
    const latents = Tensor.of(values, [1, channels, height, width]);
    const packed = packLatents(latents);
    expect(packed.shape).toEqual([1, (height / 2) * (width / 2), channels * 4]);
    const p = packed.toFloat32Array();
    const at = (ch: number, y: number, x: number) => (ch * height + y) * width + x;
    // token r·(w/2)+c, feature ch·4 + dy·2 + dx
    const token = 1 * (width / 2) + 2;
    expect(p[token * 12 + 2 * 4 + 1 * 2 + 1]).toBe(at(2, 2 * 1 + 1, 2 * 2 + 1));
    expect(Array.from(unpackLatents(packed, height, width).toFloat32Array())).toEqual(values);
    expect(
      Array.from(
        imageIds(height, width)
          .toFloat32Array()
          .slice(token * 3, token * 3 + 3),
      ),
    ).toEqual([0, 1, 2]);
  });
});

describe('adaptive norm chunk orders', () => {
  // A zero weight makes the projection output its bias, so each chunk's role can be read off.
  const projection = (name: string, chunks: number[][]) => {
    const d = chunks[0]?.length ?? 0;
    const bias = Tensor.of(chunks.flat(), [chunks.length * d]);
    return new WeightMap(
      new Map([
        [`${name}.weight`, Tensor.zeros([chunks.length * d, d])],
        [`${name}.bias`, bias],
      ]),
      'test',
    );
  };
  const x = Tensor.of([1, -1, 2, 0], [1, 1, 4]);
  const temb = Tensor.of([0.3, -0.2, 0.1, 0.5], [1, 4]);
  const normed = ops.layerNorm(x, { eps: 1e-6 }).toFloat32Array();

  it('AdaLayerNormContinuous reads (scale, shift)', () => {
    const scale = [1, 2, 3, 4];
    const shift = [10, 20, 30, 40];
    const y = new AdaLayerNormContinuous(projection('norm_out.linear', [scale, shift]), 'norm_out')
      .apply(x, temb)
      .toFloat32Array();
    y.forEach((v, i) => {
      close(v, (normed[i] as number) * (1 + (scale[i] as number)) + (shift[i] as number));
    });
  });

  it('AdaLayerNormZero yields shift_msa first, then scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp', () => {
    const chunks = [0, 1, 2, 3, 4, 5].map((k) => [k, k, k, k]);
    const views = new ModulationProjection(projection('norm1.linear', chunks), 'norm1.linear', 6).apply(temb);
    expect(views.map((v) => v.toFloat32Array()[0])).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
