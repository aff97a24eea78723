/**
 * What PipeFusion needs from a model family, over its staged API (embed / runBlocks / head): the step
 * state cut to a token range, flattened into the tensors one stage sends the next, and rebuilt on the
 * receiving stage from shapes it computes itself (so receives can be posted before the data exists).
 * The text stream travels whole with every message (PipeFusion replicates text; xdit.md §3.4).
 */
import type { LoadedTransformer } from '../../model-loader/load-transformer.js';
import type { AttentionFn } from '../../models/common/attention.js';
import type { BlockRange } from '../../models/common/blocks.js';
import { type FluxState, releaseState as releaseFlux } from '../../models/flux/state.js';
import { releaseState as releaseSd3, type Sd3State } from '../../models/sd3/state.js';
import { ops, type Tensor } from '../../native/index.js';
import { tokenSlice } from '../../parallel/sequence-shard.js';

/** The step's model inputs, already batched for CFG when this rank runs both branches. */
export interface StepInputs {
  latents: Tensor;
  context: Tensor;
  pooled: Tensor;
  timestep: number;
}

export interface StageModel<S> {
  /** Text tokens every message carries. */
  readonly textTokens: number;
  /** Stage 0: the full state of a step. */
  embed(step: StepInputs): S;
  /** Keeps image tokens [start, end) (and their rotary rows); `rows` image-token rows remain. */
  select(state: S, start: number, end: number, rows: number): void;
  pack(state: S): Tensor[];
  /** Shapes of `pack`'s tensors for a state of `imageTokens` tokens entering block `fromBlock`. */
  shapes(batch: number, imageTokens: number, fromBlock: number): number[][];
  unpack(parts: Tensor[], fromBlock: number, rows: number): S;
  runBlocks(state: S, range: BlockRange, attention: AttentionFn): Promise<void>;
  /** Last stage: the velocity of the state's tokens (Flux [B, n, C]; SD3 [B, C, rows·p, W]). */
  head(state: S): Tensor;
  release(state: S): void;
}

function replace(old: Tensor, next: Tensor): Tensor {
  old.release();
  return next;
}

function rowsOf(x: Tensor, start: number, end: number): Tensor {
  const view = x.narrow(0, start, end - start);
  const dense = view.contiguous();
  if (dense !== view) view.release();
  return dense;
}

export function fluxStageModel(
  loaded: Extract<LoadedTransformer, { family: 'flux' }>,
  ids: { imgIds: Tensor; txtIds: Tensor },
  guidanceScale: number,
): StageModel<FluxState> {
  const { model, config } = loaded;
  const width = config.numAttentionHeads * config.attentionHeadDim;
  const headDim = config.attentionHeadDim;
  const textTokens = ids.txtIds.size(0);
  return {
    textTokens,
    embed(step) {
      const batch = step.latents.size(0);
      return model.embed({
        hiddenStates: step.latents,
        encoderHiddenStates: step.context,
        pooledProjections: step.pooled,
        timestep: new Array<number>(batch).fill(Math.fround(step.timestep / 1000)),
        ...(config.guidanceEmbeds
          ? { guidance: new Array<number>(batch).fill(Math.fround(guidanceScale)) }
          : {}),
        imgIds: ids.imgIds,
        txtIds: ids.txtIds,
      });
    },
    select(state, start, end) {
      const { streams } = state;
      if (streams.kind !== 'separate') throw new Error('Flux state must be cut before the first block');
      streams.image = replace(streams.image, tokenSlice(streams.image, start, end));
      const cut = (table: Tensor) => {
        const text = rowsOf(table, 0, textTokens);
        const image = rowsOf(table, textTokens + start, textTokens + end);
        const joined = ops.concat([text, image], 0);
        text.release();
        image.release();
        return replace(table, joined);
      };
      state.rope = { cos: cut(state.rope.cos), sin: cut(state.rope.sin) };
    },
    pack(state) {
      const { streams } = state;
      const tail = streams.kind === 'separate' ? [streams.text, streams.image] : [streams.joint];
      return [state.activatedTemb, state.rope.cos, state.rope.sin, ...tail];
    },
    shapes(batch, n, fromBlock) {
      const head = [
        [batch, width],
        [textTokens + n, headDim],
        [textTokens + n, headDim],
      ];
      return fromBlock < config.numLayers
        ? [...head, [batch, textTokens, width], [batch, n, width]]
        : [...head, [batch, textTokens + n, width]];
    },
    unpack(parts, fromBlock) {
      const [temb, cos, sin, a, b] = parts as [Tensor, Tensor, Tensor, Tensor, Tensor | undefined];
      return {
        activatedTemb: temb,
        rope: { cos, sin },
        streams:
          fromBlock < config.numLayers && b
            ? { kind: 'separate', text: a, image: b }
            : { kind: 'joint', joint: a, textTokens },
      };
    },
    runBlocks: (state, range, attention) => model.runBlocks(state, range, attention),
    head: (state) => model.head(state),
    release: releaseFlux,
  };
}

export function sd3StageModel(
  loaded: Extract<LoadedTransformer, { family: 'sd3' }>,
  textTokens: number,
  cols: number,
): StageModel<Sd3State> {
  const { model, config } = loaded;
  const width = config.numAttentionHeads * config.attentionHeadDim;
  return {
    textTokens,
    embed(step) {
      return model.embed({
        hiddenStates: step.latents,
        encoderHiddenStates: step.context,
        pooledProjections: step.pooled,
        timestep: new Array<number>(step.latents.size(0)).fill(step.timestep),
      });
    },
    select(state, start, end, rows) {
      state.image = replace(state.image, tokenSlice(state.image, start, end));
      state.rows = rows;
    },
    pack(state) {
      if (!state.text) throw new Error('SD3 stage boundary after the text stream ended');
      return [state.activatedTemb, state.image, state.text];
    },
    shapes: (batch, n) => [
      [batch, width],
      [batch, n, width],
      [batch, textTokens, width],
    ],
    unpack(parts, _fromBlock, rows) {
      const [temb, image, text] = parts as [Tensor, Tensor, Tensor];
      return { activatedTemb: temb, image, text, rows, cols };
    },
    runBlocks: (state, range, attention) => model.runBlocks(state, range, attention),
    head: (state) => model.head(state),
    release: releaseSd3,
  };
}
