/**
 * Seeded noise is torch's, bit for bit: for each pipeline latent shape and dtype in the goldens (drawn by
 * Diffusers' randn_tensor with torch.Generator("cpu").manual_seed), under both of torch's float32 CPU
 * kernels, the bytes hash the same.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { DType } from '../../../src/runtime/native/index.js';
import { pipelineOps } from '../../../src/runtime/native/index.js';
import type { TorchNormalPath } from '../../../src/runtime/native/pipeline-ops.js';
import { checkSeed, SeedError, seededNoise } from '../../../src/runtime/pipeline/noise.js';
import { type PipelineFamilyName, pipelineFamily } from '../../../src/runtime/pipeline/pipeline-families.js';
import { readPipelineJson } from '../../support/pipeline-fixtures.js';

interface NoiseCase {
  name: string;
  family: PipelineFamilyName | null;
  batch?: number;
  height?: number;
  width?: number;
  seed: number;
  shape: number[];
  dtype: DType;
  sha256: string;
  first: number[];
}

const goldens = readPipelineJson<{ paths: Record<TorchNormalPath, NoiseCase[]> }>('noise.json');

function digest(data: Float32Array | Uint16Array): string {
  return createHash('sha256')
    .update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    .digest('hex');
}

describe('seeded noise equals torch.randn with a CPU generator', () => {
  for (const [path, cases] of Object.entries(goldens.paths) as [TorchNormalPath, NoiseCase[]][]) {
    for (const c of cases) {
      it(`${path} kernel: ${c.name} [${c.shape.join(', ')}] ${c.dtype}, seed ${c.seed}`, () => {
        const noise = seededNoise({ seed: c.seed, shape: c.shape, dtype: c.dtype, path });
        expect(noise.shape).toEqual(c.shape);
        expect(noise.dtype).toBe(c.dtype);
        const first = Array.from(noise.toFloat32Array().slice(0, c.first.length));
        expect(first).toEqual(c.first.map(Math.fround));
        expect(digest(noise.data())).toBe(c.sha256);
      });
    }
  }

  it('both of torch kernels are covered, and the default follows this CPU', () => {
    expect(Object.keys(goldens.paths).sort()).toEqual(['avx2', 'scalar']);
    expect(['avx2', 'scalar']).toContain(pipelineOps.torchNormalPath());
  });

  it('each family draws in the shape its Diffusers pipeline does', () => {
    const inChannels = { flux: 64, sd3: 16, pixart: 4 };
    const cases = (goldens.paths.scalar ?? []).filter((c) => c.family !== null);
    expect(cases.length).toBeGreaterThan(5);
    for (const c of cases) {
      const family = pipelineFamily(c.family as PipelineFamilyName);
      const facts = {
        inChannels: inChannels[c.family as PipelineFamilyName],
        patchSize: c.family === 'flux' ? 1 : 2,
      };
      expect(
        family.latentShape(facts, c.batch as number, c.height as number, c.width as number, 8),
        c.name,
      ).toEqual(c.shape);
    }
  });

  it('seeds must be non-negative safe integers', () => {
    expect(checkSeed(0)).toBe(0);
    expect(() => checkSeed(-1)).toThrow(SeedError);
    expect(() => checkSeed(1.5)).toThrow(/seed must be an integer/);
    expect(() => checkSeed(2 ** 53)).toThrow(/seed/);
  });
});
