import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigFields } from '../../../src/runtime/checkpoint/config-fields.js';
import { FLUX_TRANSFORMER_DEFAULTS, parseFluxConfig } from '../../../src/runtime/checkpoint/flux-config.js';
import { allTensors, blockGroups, stageTensors } from '../../../src/runtime/checkpoint/index.js';
import { parseSd3Config, SD3_TRANSFORMER_DEFAULTS } from '../../../src/runtime/checkpoint/sd3-config.js';
import { manifestFor, readTransformerConfig } from '../../../src/runtime/families/index.js';
import {
  checkpointDir,
  diffusersDefaults,
  REFERENCE_DIR,
  referenceManifest,
} from '../../support/reference-fixtures.js';
import { SafetensorsLite } from '../../support/safetensors-lite.js';

interface FullSize {
  class: string;
  config: Record<string, unknown>;
  tensor_count: number;
  sha256: string;
}

const parse = (className: string, raw: Record<string, unknown>) => {
  const fields = new ConfigFields(raw, `${className} test config`);
  return className === 'FluxTransformer2DModel' ? parseFluxConfig(fields) : parseSd3Config(fields);
};

const canonicalHash = (lines: string[]): string =>
  createHash('sha256')
    .update([...lines].sort().join('\n'))
    .digest('hex');

describe('transformer config defaults', () => {
  it('match the diffusers constructor defaults', () => {
    const defaults = diffusersDefaults();
    expect({ ...FLUX_TRANSFORMER_DEFAULTS }).toEqual(defaults.FluxTransformer2DModel);
    expect({ ...SD3_TRANSFORMER_DEFAULTS }).toEqual(defaults.SD3Transformer2DModel);
  });

  it('fill every missing key of config.json', () => {
    for (const cls of ['FluxTransformer2DModel', 'SD3Transformer2DModel']) {
      const fromDiffusers = parse(cls, diffusersDefaults()[cls] ?? {});
      expect(parse(cls, {})).toEqual(fromDiffusers);
    }
    expect(parse('FluxTransformer2DModel', { in_channels: 16 })).toMatchObject({
      inChannels: 16,
      outChannels: 16,
    });
  });
});

describe('model manifests vs the real diffusers models', () => {
  const fullSize = JSON.parse(
    readFileSync(join(REFERENCE_DIR, 'full-size-manifests.json'), 'utf8'),
  ) as Record<string, FullSize>;
  for (const [name, golden] of Object.entries(fullSize)) {
    it(`${name}: every tensor name and shape of the released model (${golden.tensor_count} tensors)`, () => {
      const manifest = manifestFor(parse(golden.class, golden.config));
      const lines = allTensors(manifest).map((t) => `${t.name} [${t.shape.join(',')}]`);
      expect(lines.length).toBe(golden.tensor_count);
      expect(canonicalHash(lines)).toBe(golden.sha256);
    });
  }

  for (const ckpt of referenceManifest().checkpoints) {
    it(`${ckpt.name}: equals the safetensors headers of the fixture checkpoint`, () => {
      const dir = checkpointDir(ckpt.name);
      const config = readTransformerConfig(dir);
      const manifest = manifestFor(config);
      const transformer = join(dir, 'transformer');
      const index = ckpt.sharded
        ? (JSON.parse(
            readFileSync(join(transformer, 'diffusion_pytorch_model.safetensors.index.json'), 'utf8'),
          ) as {
            weight_map: Record<string, string>;
          })
        : null;
      const files = index
        ? [...new Set(Object.values(index.weight_map))]
        : ['diffusion_pytorch_model.safetensors'];
      const actual = new Map<string, number[]>();
      for (const f of files) {
        const st = new SafetensorsLite(join(transformer, f));
        for (const n of st.names()) actual.set(n, st.shape(n));
      }
      const expected = new Map(allTensors(manifest).map((t) => [t.name, t.shape]));
      expect(expected.size).toBe(ckpt.tensor_count);
      expect(new Map([...actual].sort())).toEqual(new Map([...expected].sort()));
    });
  }
});

describe('per-block groups for pipeline stages', () => {
  const flux = manifestFor(readTransformerConfig(checkpointDir('flux-dev')));

  it('orders Flux blocks double then single, with execution indices', () => {
    expect(blockGroups(flux).map((g) => [g.id, g.executionIndex])).toEqual([
      ['transformer_blocks.0', 0],
      ['transformer_blocks.1', 1],
      ['single_transformer_blocks.0', 2],
      ['single_transformer_blocks.1', 3],
    ]);
  });

  it('gives the first stage the embedders and the last the head, and covers every tensor once', () => {
    const first = stageTensors(flux, { fromBlock: 0, toBlock: 2 }).map((t) => t.name);
    const last = stageTensors(flux, { fromBlock: 2, toBlock: 4 }).map((t) => t.name);
    expect(first).toContain('x_embedder.weight');
    expect(first).not.toContain('proj_out.weight');
    expect(first.some((n) => n.startsWith('single_transformer_blocks.'))).toBe(false);
    expect(last).toContain('proj_out.weight');
    expect(last).toContain('single_transformer_blocks.1.proj_out.weight');
    expect(last).not.toContain('context_embedder.weight');
    expect([...first, ...last].sort()).toEqual(
      allTensors(flux)
        .map((t) => t.name)
        .sort(),
    );
  });

  it('rejects a stage outside the model', () => {
    expect(() => stageTensors(flux, { fromBlock: 2, toBlock: 5 })).toThrow(/outside the model's 4 blocks/);
  });
});
