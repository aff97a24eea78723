import { type ClusterTopology, type LinkLevel, nominalLinks } from '../hardware/index.js';
import { BF16_BYTES, type ModelSpec } from '../models/index.js';
import type { Degrees, MeshAxis, RequestShape } from '../plan/index.js';
import { layersPerStage } from './memory.js';
import { membersSharingUnit, type RankSpace } from './placement.js';
import type { EfficiencyProfile } from './profiles.js';
import type { AxisLinks, RequestBreakdown, StepBreakdown } from './types.js';
import { promptsPerReplica, samplesPerRank, type Workload } from './workload.js';

/** Everything the cost model needs about one candidate. */
export interface CostContext {
  model: ModelSpec;
  request: RequestShape;
  workload: Workload;
  topology: ClusterTopology;
  profile: EfficiencyProfile;
  degrees: Degrees;
  patches: number;
  warmupSteps: number;
  space: RankSpace;
  links: AxisLinks;
}

/** Achievable bandwidth (bytes/s) of a link level under the profile. */
export function effectiveBandwidth(level: LinkLevel, t: ClusterTopology, p: EfficiencyProfile): number {
  const nominal = nominalLinks(t);
  if (level === 'domain')
    return nominal.domain * (t.intraNode === 'nvlink' ? p.nvlinkEfficiency : p.pcieEfficiency);
  if (level === 'node') {
    return t.intraNode === 'nvlink'
      ? nominal.node * p.nvlinkEfficiency
      : nominal.node * p.crossSocketEfficiency;
  }
  return nominal.network * p.networkEfficiency;
}

/** Fixed seconds of one collective or P2P operation whose slowest hop is `level`. */
export function operationLatency(level: LinkLevel, t: ClusterTopology, p: EfficiencyProfile): number {
  if (level === 'domain') return p.collectiveLatencySeconds;
  if (level === 'node')
    return t.intraNode === 'nvlink' ? p.collectiveLatencySeconds : p.crossSocketLatencySeconds;
  return p.networkLatencySeconds;
}

/** Seconds to run `flops` in kernels of `tokens` rows: efficiency saturates with size. */
function computeSeconds(flops: number, tokens: number, ctx: CostContext): number {
  const p = ctx.profile;
  const efficiency = (p.computeEfficiency * tokens) / (tokens + p.halfEfficiencyTokens);
  return flops / (ctx.topology.gpu.denseBf16Flops * efficiency);
}

/**
 * Seconds for each rank of an axis group to move `bytesPerPeerSet` split evenly over its k members
 * (an all-to-all): the share to peers in the same fast unit goes over the fast link, the rest over the
 * axis's slowest link; both run at once.
 */
function allToAllSeconds(axis: MeshAxis, bytes: number, ctx: CostContext): number {
  const k = ctx.degrees[axis];
  const level = ctx.links[axis];
  if (k === 1 || level === 'none') return 0;
  const p = ctx.profile;
  const perPeer = bytes / k;
  if (level === 'domain') {
    return p.collectiveLatencySeconds + (perPeer * (k - 1)) / effectiveBandwidth('domain', ctx.topology, p);
  }
  const unit = level === 'network' ? 'pod' : 'domain';
  const near = membersSharingUnit(axis, ctx.degrees, ctx.space, unit);
  const nearLevel: LinkLevel = level === 'network' ? 'node' : 'domain';
  const nearSeconds = (perPeer * (near - 1)) / effectiveBandwidth(nearLevel, ctx.topology, p);
  const farSeconds = (perPeer * (k - near)) / effectiveBandwidth(level, ctx.topology, p);
  return operationLatency(level, ctx.topology, p) + Math.max(nearSeconds, farSeconds);
}

/** Seconds for one point-to-point message over an axis's link. */
function p2pSeconds(axis: MeshAxis, bytes: number, ctx: CostContext): number {
  const level = ctx.links[axis];
  if (level === 'none') return 0;
  return (
    operationLatency(level, ctx.topology, ctx.profile) +
    bytes / effectiveBandwidth(level, ctx.topology, ctx.profile)
  );
}

/** Per-GPU seconds of one block on its local query tokens (one forward or one PipeFusion patch). */
interface BlockTime {
  compute: number;
  ulysses: number;
  /** Ring transfer not hidden behind attention, plus Ring's per-layer and per-step costs. */
  ring: number;
  /** Host time to launch the block's kernels (Ring's loop adds its own launches). */
  host: number;
}

/** Ring attention's fixed costs per layer; they occupy both the device and, in eager mode, the host. */
function ringOverheadSeconds(ctx: CostContext): number {
  const R = ctx.degrees.ring;
  return R > 1 ? ctx.profile.ringLayerSeconds + (R - 1) * ctx.profile.ringStepSeconds : 0;
}

function blockTime(ctx: CostContext, queryFraction: number, ringKvTokens: number): BlockTime {
  const { workload: w, degrees: d, profile: p } = ctx;
  const sp = d.ulysses * d.ring;
  const samples = samplesPerRank(w, ctx.request, d);
  const localTokens = (samples * w.sequence * queryFraction) / sp;
  const linear = computeSeconds(localTokens * w.linearFlopsPerToken, localTokens, ctx);
  const attention = computeSeconds(
    (samples * w.attentionFlopsPerSample * queryFraction) / sp,
    localTokens,
    ctx,
  );
  // Ulysses: all-to-alls of Q, K, V before attention and of O after it, each the rank's local tokens ×
  // all heads (refs/xdit.md §3.1).
  const tensorBytes = localTokens * w.hidden * BF16_BYTES;
  const ulysses = 4 * allToAllSeconds('ulysses', tensorBytes, ctx);
  // Ring: R−1 hops of this rank's K and V (its head group after Ulysses), each overlapped with one
  // block of attention (refs/xdit.md §3.2); the part the block does not hide is exposed.
  let ring = 0;
  if (d.ring > 1) {
    const hopBytes = 2 * samples * ringKvTokens * (w.hidden / d.ulysses) * BF16_BYTES;
    const hop = p2pSeconds('ring', hopBytes, ctx);
    const hidden = p.ringOverlap * Math.min(hop, attention / d.ring);
    ring = (d.ring - 1) * (hop - hidden) + ringOverheadSeconds(ctx);
  }
  const host = p.hostSecondsPerLayer > 0 ? p.hostSecondsPerLayer + ringOverheadSeconds(ctx) : 0;
  return { compute: linear + attention, ulysses, ring, host };
}

function sum(b: BlockTime): number {
  return b.compute + b.ulysses + b.ring;
}

/** CFG: one all-gather of the noise prediction per step (refs/xdit.md §3.7). */
function cfgSeconds(ctx: CostContext): number {
  if (ctx.degrees.cfg === 1) return 0;
  const { workload: w, model } = ctx;
  const prompts = promptsPerReplica(ctx.request, ctx.degrees);
  const latentValues = w.imageTokens * model.facts.patchSize * model.facts.patchSize * model.latentChannels;
  return p2pSeconds('cfg', prompts * latentValues * BF16_BYTES, ctx);
}

function vaeSeconds(ctx: CostContext): number {
  const p = ctx.profile;
  const pixels = ctx.request.height * ctx.request.width * promptsPerReplica(ctx.request, ctx.degrees);
  return (pixels * p.vaeFlopsPerPixel) / (ctx.topology.gpu.denseBf16Flops * p.vaeEfficiency);
}

/** Predicted time of one request (the replica's share of the batch) for one candidate. */
export function predictTime(ctx: CostContext): RequestBreakdown {
  const { degrees: d, request, workload: w } = ctx;
  const L = ctx.model.facts.layers;
  const stageLayers = layersPerStage(ctx.model, d.pipefusion, ctx.profile.stageCut);
  const cfg = cfgSeconds(ctx);
  const overheadSeconds = ctx.profile.requestOverheadSeconds;
  const vae = vaeSeconds(ctx);
  // Ring rotates each rank's post-Ulysses share of K and V: the sequence over R.
  const ringKvTokens = w.sequence / d.ring;

  if (d.pipefusion === 1) {
    const block = blockTime(ctx, 1, ringKvTokens);
    const device = L * sum(block) + cfg;
    const host = L * block.host;
    const stepSeconds = Math.max(device, host);
    const step: StepBreakdown = {
      compute: L * block.compute,
      ulysses: L * block.ulysses,
      ring: L * block.ring,
      pipefusion: 0,
      cfg,
      host: Math.max(0, host - device),
    };
    const totalSeconds = overheadSeconds + vae + request.steps * stepSeconds;
    return {
      step,
      stepSeconds,
      warmupSeconds: 0,
      bubbleSeconds: 0,
      overheadSeconds,
      vaeSeconds: vae,
      totalSeconds,
    };
  }

  // PipeFusion (refs/xdit.md §3.5): M row-band patches flow through P stages. A patch's queries attend
  // to the whole KV buffer, and under Ring the whole cached buffer rotates, so Ring traffic is not
  // divided by M.
  const M = ctx.patches;
  const P = d.pipefusion;
  const patch = blockTime(ctx, 1 / M, ringKvTokens);
  const samples = samplesPerRank(w, request, d);
  const patchActivationBytes = ((samples * w.sequence) / (M * d.ulysses * d.ring)) * w.hidden * BF16_BYTES;
  const handoff = p2pSeconds('pipefusion', patchActivationBytes, ctx);
  const stageCompute = stageLayers * sum(patch);
  // Receives are posted one patch ahead, so the hand-off overlaps the next patch's compute.
  const cycle = Math.max(stageCompute, handoff, stageLayers * patch.host);
  // A patch goes round the stage ring once per step: fewer patches than stages leave stages idle.
  const stepSeconds = Math.max(M, P) * cycle + cfg;
  const step: StepBreakdown = {
    compute: M * stageLayers * patch.compute,
    ulysses: M * stageLayers * patch.ulysses,
    ring: M * stageLayers * patch.ring,
    pipefusion: Math.max(M, P) * cycle - M * stageCompute,
    cfg,
    host: 0,
  };
  // Warm-up steps run the whole image through the stages one after another.
  const full = blockTime(ctx, 1, ringKvTokens);
  const fullHandoff = p2pSeconds('pipefusion', patchActivationBytes * M, ctx);
  const syncStep = Math.max(L * sum(full), L * full.host) + P * fullHandoff + cfg;
  const warmupSeconds = ctx.warmupSteps * syncStep;
  const bubbleSeconds = (P - 1) * cycle;
  const asyncSteps = request.steps - ctx.warmupSteps;
  const totalSeconds = overheadSeconds + vae + warmupSeconds + asyncSteps * stepSeconds + bubbleSeconds;
  return { step, stepSeconds, warmupSeconds, bubbleSeconds, overheadSeconds, vaeSeconds: vae, totalSeconds };
}
