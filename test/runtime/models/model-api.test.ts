/**
 * The seams the parallel denoiser builds on: attention is injected per call (here a head-split variant,
 * the arithmetic of Ulysses without the all-to-all, must give the same forward), and a rank can load only
 * a block range (pipeline stage) and chain embed → blocks → head across ranks.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runForward } from '../../../src/cli/commands/run-transformer.js';
import type { FluxTransformerConfig } from '../../../src/runtime/checkpoint/flux-config.js';
import type { Sd3TransformerConfig } from '../../../src/runtime/checkpoint/sd3-config.js';
import {
  type LoadedTransformer,
  loadTransformer,
  NamedTensors,
} from '../../../src/runtime/model-loader/index.js';
import type { AttentionFn, AttentionSite } from '../../../src/runtime/models/common/attention.js';
import { FluxTransformer } from '../../../src/runtime/models/flux/transformer.js';
import { Sd3Transformer } from '../../../src/runtime/models/sd3/transformer.js';
import { ops, Tensor } from '../../../src/runtime/native/index.js';
import { checkpointDir, maxRelativeError, REFERENCE_DIR, referenceCheckpoints } from './fixtures.js';

const fixture = (name: string) => {
  const checkpoint = referenceCheckpoints().find((c) => c.name === name);
  if (!checkpoint) throw new Error(`no fixture checkpoint ${name}`);
  const reference = checkpoint.cases.find((c) => c.kind === 'forward');
  if (!reference) throw new Error(`fixture ${name} has no forward case`);
  const file = NamedTensors.read(join(REFERENCE_DIR, reference.file));
  return {
    folder: checkpointDir(checkpoint),
    inputs: file.without(['sample']),
    golden: file.required('sample', ''),
  };
};

/** Attention computed one head group at a time, as each Ulysses rank would after its all-to-all. */
function headGroups(groups: number, seen: AttentionSite[]): AttentionFn {
  return async (q, k, v, site) => {
    seen.push(site);
    const heads = q.size(2);
    const parts = [q, k, v].map((t) => t.split(groups, 2).map((view) => view.contiguous()));
    const outs = Array.from({ length: groups }, (_, g) =>
      ops.attention(parts[0]?.[g] ?? q, parts[1]?.[g] ?? k, parts[2]?.[g] ?? v),
    );
    expect(outs[0]?.size(2)).toBe(heads / groups);
    return ops.concat(outs, 2);
  };
}

/** The concrete transformers behind a loaded family model, for tests of the model code itself. */
function fluxOf(loaded: LoadedTransformer): FluxTransformer {
  expect(loaded.config.className).toBe('FluxTransformer2DModel');
  return new FluxTransformer(loaded.config as FluxTransformerConfig, loaded.weights, loaded.model.loaded);
}
function sd3Of(loaded: LoadedTransformer): Sd3Transformer {
  expect(loaded.config.className).toBe('SD3Transformer2DModel');
  return new Sd3Transformer(loaded.config as Sd3TransformerConfig, loaded.weights, loaded.model.loaded);
}

describe('injected attention', () => {
  it('Flux: every block calls it with [text; image] sites, and a head-split attention gives the same sample', async () => {
    const { folder, inputs, golden } = fixture('flux-dev');
    const loaded = loadTransformer(folder);
    const model = fluxOf(loaded);
    const seen: AttentionSite[] = [];
    const x = inputs.required('hidden_states', '');
    const sample = await model.forward(
      {
        hiddenStates: x,
        encoderHiddenStates: inputs.required('encoder_hidden_states', ''),
        pooledProjections: inputs.required('pooled_projections', ''),
        timestep: inputs.scalars('timestep', 1, ''),
        guidance: inputs.scalars('guidance', 1, ''),
        imgIds: inputs.required('img_ids', ''),
        txtIds: inputs.required('txt_ids', ''),
      },
      { attention: headGroups(2, seen) },
    );
    expect(maxRelativeError(sample, golden)).toBeLessThan(1e-4);
    const textTokens = inputs.required('encoder_hidden_states', '').size(1);
    expect(seen).toEqual(
      [0, 1, 2, 3].map((block) => ({ block, kind: 'joint', textTokens, textPosition: 'front' })),
    );
  });

  it('SD3.5: joint sites put text last, dual-attention blocks add an image-only site', async () => {
    const { folder, inputs, golden } = fixture('sd35-medium');
    const loaded = loadTransformer(folder);
    const model = sd3Of(loaded);
    const seen: AttentionSite[] = [];
    const sample = await model.forward(
      {
        hiddenStates: inputs.required('hidden_states', ''),
        encoderHiddenStates: inputs.required('encoder_hidden_states', ''),
        pooledProjections: inputs.required('pooled_projections', ''),
        timestep: inputs.scalars('timestep', 1, ''),
      },
      { attention: headGroups(4, seen) },
    );
    expect(maxRelativeError(sample, golden)).toBeLessThan(1e-4);
    const text = inputs.required('encoder_hidden_states', '').size(1);
    const joint = (block: number) => ({ block, kind: 'joint', textTokens: text, textPosition: 'rear' });
    const image = (block: number) => ({ block, kind: 'image', textTokens: 0, textPosition: 'none' });
    // dual_attention_layers [0, 1] in this fixture.
    expect(seen).toEqual([joint(0), image(0), joint(1), image(1), joint(2), joint(3)]);
  });
});

describe('pipeline stages', () => {
  for (const name of ['flux-schnell', 'sd3-medium']) {
    it(`${name}: two ranks holding blocks [0,2) and [2,4) chain to the full forward`, async () => {
      const { folder, inputs, golden } = fixture(name);
      const first = loadTransformer(folder, { blocks: { fromBlock: 0, toBlock: 2 } });
      const second = loadTransformer(folder, { blocks: { fromBlock: 2, toBlock: 4 } });
      const full = loadTransformer(folder);
      // Each rank read only its own tensors: together exactly the whole checkpoint, no overlap.
      const names = (l: typeof first) => l.weights.names();
      expect(names(first).filter((n) => names(second).includes(n))).toEqual([]);
      expect(names(first).length + names(second).length).toBe(names(full).length);
      expect(names(first).some((n) => n.startsWith('proj_out'))).toBe(false);
      expect(names(second).some((n) => n.includes('embedder'))).toBe(false);

      const whole = await runForward(full, inputs);
      expect(maxRelativeError(whole, golden)).toBeLessThan(1e-4);
      let staged: ReturnType<typeof ops.add>;
      if (first.family === 'flux') {
        const [a, b] = [fluxOf(first), fluxOf(second)];
        const state = a.embed({
          hiddenStates: inputs.required('hidden_states', ''),
          encoderHiddenStates: inputs.required('encoder_hidden_states', ''),
          pooledProjections: inputs.required('pooled_projections', ''),
          timestep: inputs.scalars('timestep', 1, ''),
          imgIds: inputs.required('img_ids', ''),
          txtIds: inputs.required('txt_ids', ''),
        });
        await a.runBlocks(state, { fromBlock: 0, toBlock: 2 });
        await expect(a.runBlocks(state, { fromBlock: 2, toBlock: 3 })).rejects.toThrow(
          /block 2 is not loaded/,
        );
        expect(() => b.embed({} as never)).toThrow(/embedders live on the rank that holds block 0/);
        await b.runBlocks(state, { fromBlock: 2, toBlock: 4 });
        staged = b.head(state);
      } else if (first.family === 'sd3') {
        const [a, b] = [sd3Of(first), sd3Of(second)];
        const x = inputs.required('hidden_states', '');
        const state = a.embed({
          hiddenStates: x,
          encoderHiddenStates: inputs.required('encoder_hidden_states', ''),
          pooledProjections: inputs.required('pooled_projections', ''),
          timestep: inputs.scalars('timestep', x.size(0), ''),
        });
        await a.runBlocks(state, { fromBlock: 0, toBlock: 2 });
        expect(() => a.head(state)).toThrow(/output head lives on the rank that holds the last block/);
        await b.runBlocks(state, { fromBlock: 2, toBlock: 4 });
        staged = b.head(state);
      } else {
        throw new Error('mixed families');
      }
      expect(maxRelativeError(staged, whole)).toBe(0);
    });
  }
});

describe('Flux position ids', () => {
  it('accepts the deprecated 3-D ids [1, N, 3] as Diffusers does (batch 0 is read)', async () => {
    const { folder, inputs, golden } = fixture('flux-schnell');
    const loaded = loadTransformer(folder);
    const model = fluxOf(loaded);
    const img = inputs.required('img_ids', '');
    const txt = inputs.required('txt_ids', '');
    const sample = await model.forward({
      hiddenStates: inputs.required('hidden_states', ''),
      encoderHiddenStates: inputs.required('encoder_hidden_states', ''),
      pooledProjections: inputs.required('pooled_projections', ''),
      timestep: inputs.scalars('timestep', 1, ''),
      imgIds: img.reshape([1, ...img.shape]),
      txtIds: txt.reshape([1, ...txt.shape]),
    });
    expect(maxRelativeError(sample, golden)).toBeLessThan(1e-4);
  });

  it('rejects ids that do not match the token count, naming the input', async () => {
    const { folder, inputs } = fixture('flux-schnell');
    const loaded = loadTransformer(folder);
    const model = fluxOf(loaded);
    const img = inputs.required('img_ids', '');
    await expect(
      model.forward({
        hiddenStates: inputs.required('hidden_states', ''),
        encoderHiddenStates: inputs.required('encoder_hidden_states', ''),
        pooledProjections: inputs.required('pooled_projections', ''),
        timestep: inputs.scalars('timestep', 1, ''),
        imgIds: img.narrow(0, 0, img.size(0) - 1),
        txtIds: inputs.required('txt_ids', ''),
      }),
    ).rejects.toThrow(/img_ids must be \[16, 3\]/);
  });
});

describe('SD3 input checks', () => {
  it('rejects a latent grid larger than the stored position table, naming pos_embed_max_size', async () => {
    const { folder, inputs } = fixture('sd3-medium');
    const loaded = loadTransformer(folder);
    const model = sd3Of(loaded);
    // pos_embed_max_size 16 patches of 2 → at most 32 latent pixels per side.
    await expect(
      model.forward({
        hiddenStates: Tensor.zeros([1, 16, 34, 32]),
        encoderHiddenStates: inputs.required('encoder_hidden_states', '').narrow(0, 0, 1),
        pooledProjections: inputs.required('pooled_projections', '').narrow(0, 0, 1),
        timestep: [500],
      }),
    ).rejects.toThrow(/17×16 patches exceeds pos_embed_max_size 16/);
  });
});
