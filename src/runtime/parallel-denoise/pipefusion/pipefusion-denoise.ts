/**
 * PipeFusion's denoising loop on one rank (xdit.md §3.5–3.6). The model is cut into stages of
 * consecutive blocks (this rank loaded only its own); the image into M row-band patches.
 *
 * - Warm-up steps (the first W): synchronous, whole image. Stage 0 embeds, each stage runs its blocks and
 *   passes the state on, the last stage computes the velocity, steps the scheduler and sends the latents
 *   back to stage 0. Every layer's KV buffer is filled with the step's K/V.
 * - Patch steps: for each patch in order, stage 0 embeds it from the latest latents, each stage runs it
 *   through its blocks against the KV buffers (fresh rows for patches done this step, stale for the rest),
 *   and the last stage steps that band of the latents and sends it back to stage 0, so the stages work on
 *   different patches at once. Receives are posted one message ahead.
 * With W = all steps the result is the one-process result; with fewer it is approximate by design.
 * Sequence parallel works inside a stage: each SP rank holds a sub-band of every patch.
 */
import { classifierFreeGuidance } from '../../denoise/guidance.js';
import type { DenoiseInputs } from '../../denoise/inputs.js';
import { imageTokens } from '../../denoise/inputs.js';
import { denoiseSchedule } from '../../denoise/schedule.js';
import type { LoadedTransformer } from '../../model-loader/load-transformer.js';
import type { AttentionFn } from '../../models/common/attention.js';
import { ops, Tensor } from '../../native/index.js';
import { runProgram } from '../../parallel/comm-steps.js';
import { type KvMode, kvBufferAttention } from '../../parallel/kv-buffer-attention.js';
import { KvBuffers } from '../../parallel/kv-buffers.js';
import { gatherSequenceShards } from '../../parallel/sp-gather.js';
import { eulerStep } from '../../scheduler/flow-match-euler.js';
import { type RankContext, sequenceParallelAttention, spDegree, spLayout, spRank } from '../context.js';
import type { ParallelDenoiseOptions } from '../parallel-denoise.js';
import { stageRange } from '../stages.js';
import { type LatentLayout, latentBand, type Patch, patchEulerStep, patches, subBand } from './patches.js';
import { elementCount, flatten, LATENT_TAG, STATE_TAG, StageLink, unflatten } from './stage-link.js';
import { fluxStageModel, type StageModel, type StepInputs, sd3StageModel } from './stage-model.js';

/** Buffers live as long as the process: a second request of the same shape reuses them. */
const buffers = new KvBuffers();

interface Branch {
  /** The step inputs this rank's pipeline runs (CFG-batched when it runs both branches). */
  inputs: (latents: Tensor, t: number) => StepInputs;
  /** Velocity of the request from this pipeline's head output (CFG combined). */
  guide: (out: Tensor) => Promise<Tensor>;
  batch: number;
}

export async function pipefusionDenoise(
  loaded: LoadedTransformer,
  inputs: DenoiseInputs,
  options: ParallelDenoiseOptions,
  ctx: RankContext,
): Promise<Tensor | null> {
  if (loaded.family === 'flux' && inputs.family === 'flux') {
    const ids = inputs.imgIds.toFloat32Array();
    const rows = (ids[ids.length - 2] ?? 0) + 1;
    const n = inputs.latents.size(1);
    const model = fluxStageModel(loaded, inputs, options.guidanceScale);
    const layout: LatentLayout = { axis: 1, perUnit: 1, tokensPerUnit: 1 };
    const branch = plainBranch(inputs.promptEmbeds, inputs.pooledPromptEmbeds, inputs.latents.size(0));
    return runPipeline(
      loaded,
      inputs,
      options,
      ctx,
      model,
      { rows, cols: n / rows, layout, headAxis: 1 },
      branch,
    );
  }
  if (loaded.family === 'sd3' && inputs.family === 'sd3') {
    const p = loaded.config.patchSize;
    const rows = inputs.latents.size(2) / p;
    const cols = inputs.latents.size(3) / p;
    const model = sd3StageModel(loaded, inputs.promptEmbeds.size(1), cols);
    const layout: LatentLayout = { axis: 2, perUnit: p, tokensPerUnit: cols };
    return runPipeline(
      loaded,
      inputs,
      options,
      ctx,
      model,
      { rows, cols, layout, headAxis: 2 },
      sd3Branch(inputs, options, ctx),
    );
  }
  throw new Error('PipeFusion: model and inputs belong to different families');
}

function plainBranch(context: Tensor, pooled: Tensor, batch: number): Branch {
  return {
    inputs: (latents, t) => ({ latents, context, pooled, timestep: t }),
    guide: async (out) => out,
    batch,
  };
}

function sd3Branch(
  inputs: Extract<DenoiseInputs, { family: 'sd3' }>,
  options: ParallelDenoiseOptions,
  ctx: RankContext,
): Branch {
  const batch = inputs.latents.size(0);
  const negative = inputs.negativePromptEmbeds;
  const negativePooled = inputs.negativePooledPromptEmbeds;
  if (options.guidanceScale <= 1 || !negative || !negativePooled) {
    return plainBranch(inputs.promptEmbeds, inputs.pooledPromptEmbeds, batch);
  }
  const scale = options.guidanceScale;
  if (ctx.degrees.cfg === 2) {
    const conditional = ctx.coords.cfg === 1;
    const context = conditional ? inputs.promptEmbeds : negative;
    const pooled = conditional ? inputs.pooledPromptEmbeds : negativePooled;
    return {
      inputs: (latents, t) => ({ latents, context, pooled, timestep: t }),
      guide: async (out) => {
        const both = Tensor.empty([2 * out.size(0), ...out.shape.slice(1)]);
        await ctx.clock.wait(ctx.axes.cfg.allGather(out.contiguous(), both));
        return classifierFreeGuidance(both, scale);
      },
      batch,
    };
  }
  const context = ops.concat([negative, inputs.promptEmbeds], 0);
  const pooled = ops.concat([negativePooled, inputs.pooledPromptEmbeds], 0);
  return {
    inputs: (latents, t) => ({ latents: ops.concat([latents, latents], 0), context, pooled, timestep: t }),
    guide: async (out) => classifierFreeGuidance(out, scale),
    batch: 2 * batch,
  };
}

interface Geometry {
  rows: number;
  cols: number;
  layout: LatentLayout;
  /** Axis of the head's output along which SP shards are joined (Flux tokens 1; SD3 latent rows 2). */
  headAxis: number;
}

async function runPipeline<S>(
  loaded: LoadedTransformer,
  inputs: DenoiseInputs,
  options: ParallelDenoiseOptions,
  ctx: RankContext,
  model: StageModel<S>,
  geometry: Geometry,
  branch: Branch,
): Promise<Tensor | null> {
  const stages = ctx.degrees.pipefusion;
  const stage = ctx.coords.pipefusion;
  const first = stage === 0;
  const last = stage === stages - 1;
  const range = stageRange(loaded.config, stages, stage);
  const link = new StageLink(ctx.axes.pipefusion, (stage + 1) % stages, (stage + stages - 1) % stages);
  const sp = spDegree(ctx);
  const s = spRank(ctx);
  const layout = spLayout(ctx);
  const spComms = { ulysses: ctx.axes.ulysses, ring: ctx.axes.ring };
  const patch = loaded.family === 'sd3' ? loaded.config.patchSize : 1;
  const schedule = denoiseSchedule(
    loaded.family,
    options.scheduler,
    options.steps,
    imageTokens(inputs, patch),
  );
  const steps = schedule.timesteps.length;
  const warmup = Math.min(options.pipeline.warmupSteps, steps);
  const tokens = geometry.rows * geometry.cols;
  const bands = patches(geometry.rows, geometry.cols, options.pipeline.patches);
  const config = loaded.config;
  const headsPerRank = config.numAttentionHeads / ctx.degrees.ulysses;
  if (warmup < steps) buffers.prepare([branch.batch, tokens, headsPerRank, config.attentionHeadDim]);
  const latents = inputs.latents.to('f32').clone();
  const values = latents.data() as Float32Array;

  const attentionFor = (mode: KvMode): AttentionFn =>
    warmup >= steps
      ? sequenceParallelAttention(ctx, 'replicated')
      : (q, k, v, site) =>
          runProgram(kvBufferAttention(q, k, v, site, layout, buffers, mode), spComms, ctx.clock);

  /** Velocity of this rank's tokens → the request's velocity for the whole band (SP-gathered, CFG-guided). */
  const velocity = async (state: S): Promise<Tensor> => {
    const local = model.head(state);
    let full = local;
    if (sp > 1) {
      const stacked = await runProgram(gatherSequenceShards(local, layout), spComms, ctx.clock);
      const pieces = stacked.split(sp, 0).map((x) => x.reshape(local.shape));
      full = ops.concat(pieces, geometry.headAxis);
    }
    return branch.guide(full);
  };

  const stateShape = (n: number) => model.shapes(branch.batch, n, range.fromBlock);
  const receiveState = async (
    posted: { buffer: Tensor; done: Promise<void> },
    n: number,
    rows: number,
  ): Promise<S> => {
    await ctx.clock.wait(posted.done);
    return model.unpack(unflatten(posted.buffer, stateShape(n)), range.fromBlock, rows);
  };
  const postState = (n: number, tag: number) =>
    link.post(
      stateShape(n).reduce((a, sh) => a + elementCount(sh), 0),
      tag,
    );

  for (let i = 0; i < steps; i++) {
    const started = performance.now();
    const t = schedule.timesteps[i] as number;
    if (i < warmup) {
      // Synchronous step over the whole image.
      const n = tokens / sp;
      const rows = geometry.rows / sp;
      let state: S;
      if (first) {
        if (i > 0) {
          const posted = link.post(latents.numel, LATENT_TAG + bands.length);
          await ctx.clock.wait(posted.done);
          latents.copyFrom(posted.buffer.reshape(latents.shape));
        }
        state = model.embed(branch.inputs(latents, t));
        model.select(state, s * n, (s + 1) * n, rows);
      } else {
        state = await receiveState(postState(n, STATE_TAG + bands.length), n, rows);
      }
      await model.runBlocks(state, range, attentionFor({ kind: 'fill' }));
      if (!last) {
        link.send(flatten(model.pack(state)), STATE_TAG + bands.length);
      } else {
        const v = await velocity(state);
        eulerStep(schedule, i, values, v.toFloat32Array(), values);
        if (i < steps - 1) link.send(latents.clone().reshape([latents.numel]), LATENT_TAG + bands.length);
      }
      model.release(state);
      await ctx.clock.wait(link.settle());
    } else {
      await patchStep(i, t);
    }
    options.onStep?.({ index: i, ms: performance.now() - started });
  }
  return last ? latents : null;

  async function patchStep(i: number, t: number): Promise<void> {
    if (first && i === warmup && i > 0) {
      // The last warm-up step sent the whole latents back.
      const whole = link.post(latents.numel, LATENT_TAG + bands.length);
      await ctx.clock.wait(whole.done);
      latents.copyFrom(whole.buffer.reshape(latents.shape));
    }
    const receiveLatents = first && i > warmup;
    const bandElements = (p: Patch) => latentBand(latents, geometry.layout, p.start, p.end).numel;
    const postNext = (p: Patch) => {
      if (first) return receiveLatents ? link.post(bandElements(p), LATENT_TAG + p.index) : null;
      const sub = subBand(p, sp, s);
      return postState(sub.end - sub.start, STATE_TAG + p.index);
    };
    let posted = bands[0] ? postNext(bands[0]) : null;
    for (const p of bands) {
      const sub = subBand(p, sp, s);
      const current = posted;
      const following = bands[p.index + 1];
      let state: S;
      if (first) {
        if (current) {
          await ctx.clock.wait(current.done);
          const band = latentBand(latents, geometry.layout, p.start, p.end);
          band.copyFrom(current.buffer.reshape(band.shape));
        }
        posted = following ? postNext(following) : null;
        state = model.embed(branch.inputs(latents, t));
        model.select(state, sub.start, sub.end, sub.rows);
      } else {
        if (!current) throw new Error('PipeFusion: no receive was posted for the patch');
        state = await receiveState(current, sub.end - sub.start, sub.rows);
        posted = following ? postNext(following) : null;
      }
      await model.runBlocks(state, range, attentionFor({ kind: 'patch', start: p.start, end: p.end }));
      if (!last) {
        link.send(flatten(model.pack(state)), STATE_TAG + p.index);
      } else {
        const v = await velocity(state);
        const band = latentBand(latents, geometry.layout, p.start, p.end);
        patchEulerStep(schedule, i, band, v);
        if (i < steps - 1) link.send(band.contiguous().reshape([band.numel]), LATENT_TAG + p.index);
      }
      model.release(state);
    }
    await ctx.clock.wait(link.settle());
  }
}
