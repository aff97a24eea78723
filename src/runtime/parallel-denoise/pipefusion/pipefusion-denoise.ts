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
import { checkSameFamily, copiesSince } from '../../denoise/denoise-loop.js';
import type { DenoiseInputs } from '../../denoise/inputs.js';
import { onHost, placeInputs } from '../../denoise/placed-inputs.js';
import type { FamilyRequest } from '../../families/index.js';
import { type GuidedPass, guidedPass, passLatents } from '../../guidance/guided-pass.js';
import type { LoadedTransformer } from '../../model-loader/load-transformer.js';
import type { AttentionFn } from '../../models/common/attention.js';
import { ops, type Tensor, transferCounts } from '../../native/index.js';
import { runProgram } from '../../parallel/comm-steps.js';
import { type KvMode, kvBufferAttention } from '../../parallel/kv-buffer-attention.js';
import { KvBuffers } from '../../parallel/kv-buffers.js';
import { gatherSequenceShards } from '../../parallel/sp-gather.js';
import { stepLatents } from '../../scheduler/scheduler.js';
import {
  cfgAxis,
  type RankContext,
  sequenceParallelAttention,
  spDegree,
  spLayout,
  spRank,
} from '../context.js';
import type { ParallelDenoiseOptions } from '../parallel-denoise.js';
import { stageRange } from '../stages.js';
import { latentBand, type Patch, patches, stepBand, subBand } from './patches.js';
import { LATENT_TAG, type PostedState, STATE_TAG, StageLink } from './stage-link.js';

/** Buffers live as long as the process: a second request of the same shape reuses them. */
const buffers = new KvBuffers();

export async function pipefusionDenoise(
  loaded: LoadedTransformer,
  inputs: DenoiseInputs,
  options: ParallelDenoiseOptions,
  ctx: RankContext,
): Promise<Tensor | null> {
  checkSameFamily(loaded, inputs);
  // The request's tensors and the latents on this stage's device, once; the latents stay there.
  const placed = placeInputs(inputs, loaded.placement);
  try {
    const request = loaded.model.request(placed.inputs, options.guidanceScale);
    const pass = guidedPass(request, cfgAxis(ctx));
    try {
      const result = await runPipeline(loaded, placed.latents, options, ctx, request, pass);
      if (!result) placed.latents.release();
      return result && onHost(result);
    } finally {
      pass.release();
    }
  } catch (error) {
    placed.latents.release();
    throw error;
  } finally {
    placed.release();
  }
}

async function runPipeline(
  loaded: LoadedTransformer,
  latents: Tensor,
  options: ParallelDenoiseOptions,
  ctx: RankContext,
  model: FamilyRequest,
  pass: GuidedPass,
): Promise<Tensor | null> {
  const { geometry } = model;
  const stages = ctx.degrees.pipefusion;
  const stage = ctx.coords.pipefusion;
  const first = stage === 0;
  const last = stage === stages - 1;
  const range = stageRange(loaded.config, stages, stage);
  // Messages on the stage's device, the state in the model's activation dtype.
  const link = new StageLink(
    ctx.axes.pipefusion,
    (stage + 1) % stages,
    (stage + stages - 1) % stages,
    ctx.clock,
    {
      device: latents.device,
      dtype: loaded.placement?.dtype ?? 'f32',
    },
  );
  const sp = spDegree(ctx);
  const s = spRank(ctx);
  const layout = spLayout(ctx);
  const spComms = { ulysses: ctx.axes.ulysses, ring: ctx.axes.ring };
  const schedule = loaded.arch.schedule(options.scheduler, options.steps, geometry);
  const steps = schedule.timesteps.length;
  const warmup = Math.min(options.pipeline.warmupSteps, steps);
  const tokens = geometry.rows * geometry.cols;
  const bands = patches(geometry.rows, geometry.cols, options.pipeline.patches);
  const { heads, headDim } = loaded.arch.facts;
  if (warmup < steps) buffers.prepare([pass.batch, tokens, heads / ctx.degrees.ulysses, headDim]);

  const attentionFor = (mode: KvMode): AttentionFn =>
    warmup >= steps
      ? sequenceParallelAttention(ctx, 'replicated')
      : (q, k, v, site) =>
          runProgram(kvBufferAttention(q, k, v, site, layout, buffers, mode), spComms, ctx.clock);

  /** Velocity of this rank's tokens → the request's velocity for the whole band (SP-gathered, CFG-guided). */
  const velocity = async (state: unknown): Promise<Tensor> => {
    const local = model.head(state);
    let full = local;
    if (sp > 1) {
      const stacked = await runProgram(gatherSequenceShards(local, layout), spComms, ctx.clock);
      const pieces = stacked.split(sp, 0).map((x) => x.reshape(local.shape));
      full = ops.concat(pieces, geometry.headAxis);
      for (const p of pieces) p.release();
      stacked.release();
      local.release();
    }
    const guided = await pass.combine(full);
    if (guided !== full) full.release();
    return guided;
  };
  /** Stage 0: the state of this step's forward for the current latents (both CFG copies when batched). */
  const embed = (t: number): unknown => {
    const x = passLatents(pass, latents);
    const state = model.embed(x, pass.conditioning, t);
    if (x !== latents) x.release();
    return state;
  };

  const receiveState = async (posted: PostedState, rows: number): Promise<unknown> => {
    await ctx.clock.wait(posted.ready());
    return model.unpack(posted.parts(), range.fromBlock, rows, pass.conditioning);
  };
  const postState = (n: number, tag: number) =>
    link.postState(model.stateParts(pass.batch, n, range.fromBlock), tag);
  /** This stage's state of `n` image tokens to the next stage. */
  const sendState = (state: unknown, n: number, tag: number) =>
    link.sendState(model.pack(state), model.stateParts(pass.batch, n, range.toBlock), tag);

  for (let i = 0; i < steps; i++) {
    const started = performance.now();
    const before = transferCounts();
    const t = schedule.timesteps[i] as number;
    if (i < warmup) {
      // Synchronous step over the whole image.
      const n = tokens / sp;
      const rows = geometry.rows / sp;
      let state: unknown;
      if (first) {
        if (i > 0) {
          const posted = link.post(latents.numel, LATENT_TAG + bands.length);
          await ctx.clock.wait(posted.ready());
          latents.copyFrom(posted.buffer.reshape(latents.shape));
        }
        state = embed(t);
        model.select(state, { start: s * n, end: (s + 1) * n }, rows, null);
      } else {
        state = await receiveState(postState(n, STATE_TAG + bands.length), rows);
      }
      await model.runBlocks(state, range, attentionFor({ kind: 'fill' }));
      if (!last) {
        sendState(state, n, STATE_TAG + bands.length);
      } else {
        const v = await velocity(state);
        stepLatents(schedule, i, latents, v);
        v.release();
        if (i < steps - 1) link.send(latents.clone().reshape([latents.numel]), LATENT_TAG + bands.length);
      }
      model.release(state);
      await link.settle();
    } else {
      await patchStep(i, t);
    }
    options.onStep?.({ index: i, ms: performance.now() - started, copies: copiesSince(before) });
  }
  return last ? latents : null;

  async function patchStep(i: number, t: number): Promise<void> {
    if (last && i === warmup && i > 0) {
      // A multistep scheduler's whole-image history becomes each band's (the one-process run continues it).
      schedule.splitIntoBands?.(
        bands.map((p) => p.index),
        (whole, region) => {
          const p = bands[region] as Patch;
          const band = latentBand(whole, geometry.latentLayout, p.start, p.end);
          const owned = band.contiguous();
          if (owned !== band) band.release();
          return owned;
        },
      );
    }
    if (first && i === warmup && i > 0) {
      // The last warm-up step sent the whole latents back.
      const whole = link.post(latents.numel, LATENT_TAG + bands.length);
      await ctx.clock.wait(whole.ready());
      latents.copyFrom(whole.buffer.reshape(latents.shape));
    }
    const receiveLatents = first && i > warmup;
    const bandElements = (p: Patch) => latentBand(latents, geometry.latentLayout, p.start, p.end).numel;
    // Stage 0 receives latent bands (from the second patch step on), the others states.
    const postLatents = (p: Patch) =>
      receiveLatents ? link.post(bandElements(p), LATENT_TAG + p.index) : null;
    const postStateOf = (p: Patch) => {
      const sub = subBand(p, sp, s);
      return postState(sub.end - sub.start, STATE_TAG + p.index);
    };
    let postedBand = first && bands[0] ? postLatents(bands[0]) : null;
    let postedState = !first && bands[0] ? postStateOf(bands[0]) : null;
    for (const p of bands) {
      const sub = subBand(p, sp, s);
      const following = bands[p.index + 1];
      let state: unknown;
      if (first) {
        const current = postedBand;
        if (current) {
          await ctx.clock.wait(current.ready());
          const band = latentBand(latents, geometry.latentLayout, p.start, p.end);
          band.copyFrom(current.buffer.reshape(band.shape));
        }
        postedBand = following ? postLatents(following) : null;
        state = embed(t);
        model.select(state, { start: sub.start, end: sub.end }, sub.rows, null);
      } else {
        const current = postedState;
        if (!current) throw new Error('PipeFusion: no receive was posted for the patch');
        state = await receiveState(current, sub.rows);
        postedState = following ? postStateOf(following) : null;
      }
      await model.runBlocks(state, range, attentionFor({ kind: 'patch', start: p.start, end: p.end }));
      if (!last) {
        sendState(state, sub.end - sub.start, STATE_TAG + p.index);
      } else {
        const v = await velocity(state);
        const band = latentBand(latents, geometry.latentLayout, p.start, p.end);
        stepBand(schedule, i, band, v, p.index);
        v.release();
        if (i < steps - 1) link.send(band.contiguous().reshape([band.numel]), LATENT_TAG + p.index);
      }
      model.release(state);
    }
    await link.settle();
  }
}
