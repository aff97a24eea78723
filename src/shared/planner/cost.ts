import {
  type ClusterTopology,
  type GpuSpec,
  LINK_LEVELS,
  type LinkLevel,
  nominalLinks,
} from '../hardware/index.js';
import { BF16_BYTES, type ModelSpec } from '../models/index.js';
import { type Degrees, type MeshAxis, type RequestShape, replicaRanks } from '../plan/index.js';
import { layersPerStage } from './memory.js';
import { peersByLevel, type RankSpace } from './placement.js';
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

export type TrafficPattern = 'p2p' | 'all-to-all';

/**
 * Achievable bandwidth (bytes/s) of a link level for a traffic pattern. On PCIe an all-to-all that
 * leaves a switch goes through the CPU's root complex, where every GPU's traffic meets: xDiT measured
 * Ulysses > 2 losing on L40 and L20 while Ring (point-to-point, neighbours only) still scales.
 */
export function effectiveBandwidth(
  level: LinkLevel,
  t: ClusterTopology,
  p: EfficiencyProfile,
  pattern: TrafficPattern = 'p2p',
): number {
  const nominal = nominalLinks(t)[level];
  if (level === 'network') return nominal * p.networkEfficiency;
  if (t.intraNode === 'nvlink') return nominal * p.nvlinkEfficiency;
  if (level === 'switch') return nominal * p.pcieSwitchEfficiency;
  if (level === 'domain') {
    return nominal * p.pcieEfficiency * (pattern === 'all-to-all' ? p.pcieAllToAllEfficiency : 1);
  }
  return nominal * p.crossSocketEfficiency * (pattern === 'all-to-all' ? p.crossSocketAllToAllEfficiency : 1);
}

/** Fixed seconds of one collective or P2P operation whose slowest hop is `level`. */
export function operationLatency(level: LinkLevel, t: ClusterTopology, p: EfficiencyProfile): number {
  if (level === 'network') return p.networkLatencySeconds;
  if (level === 'node' && t.intraNode === 'pcie') return p.crossSocketLatencySeconds;
  return p.collectiveLatencySeconds;
}

/**
 * FLOP/s a GPU's kernels reach at `efficiency` of its peak: the fitted efficiencies describe boards that
 * hold their boost clocks; a power-capped board is limited by what it measurably sustains instead.
 */
function achievableFlops(gpu: GpuSpec, efficiency: number): number {
  return Math.min(gpu.denseBf16Flops * efficiency, gpu.sustainedFlops ?? Number.POSITIVE_INFINITY);
}

/**
 * Seconds to run `flops` in kernels of `tokens` rows: efficiency saturates with the rows and with the
 * kernel's width — the model's hidden size for the linear layers (narrow GEMMs keep the tensor cores
 * less busy), the head dimension for attention (PixArt's 72 and SD3's 64 against FLUX.1's 128).
 */
function computeSeconds(
  flops: number,
  tokens: number,
  width: number,
  halfWidth: number,
  ctx: CostContext,
): number {
  const p = ctx.profile;
  const shape = (tokens / (tokens + p.halfEfficiencyTokens)) * (width / (width + halfWidth));
  return flops / (achievableFlops(ctx.topology.gpu, p.computeEfficiency) * shape);
}

/**
 * Seconds for each rank of an axis group to exchange `bytes` split evenly over its k members (an
 * all-to-all): the shares to peers behind each link level move at once, each at that level's rate.
 */
function allToAllSeconds(axis: MeshAxis, bytes: number, ctx: CostContext): number {
  const level = ctx.links[axis];
  if (ctx.degrees[axis] === 1 || level === 'none') return 0;
  const perPeer = bytes / ctx.degrees[axis];
  const peers = peersByLevel(axis, ctx.degrees, ctx.space);
  let slowest = 0;
  for (const l of LINK_LEVELS) {
    if (peers[l] === 0) continue;
    const seconds = (perPeer * peers[l]) / effectiveBandwidth(l, ctx.topology, ctx.profile, 'all-to-all');
    slowest = Math.max(slowest, seconds);
  }
  return operationLatency(level, ctx.topology, ctx.profile) + slowest;
}

/** Seconds for one point-to-point message over an axis's slowest link. */
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

function blockTime(ctx: CostContext, queryFraction: number): BlockTime {
  const { workload: w, degrees: d, profile: p } = ctx;
  const sp = d.ulysses * d.ring;
  const samples = samplesPerRank(w, ctx.request, d);
  const localTokens = (samples * w.sequence * queryFraction) / sp;
  const linear = computeSeconds(
    localTokens * w.linearFlopsPerToken,
    localTokens,
    w.hidden,
    p.halfEfficiencyWidth,
    ctx,
  );
  const attention = computeSeconds(
    (samples * w.attentionFlopsPerSample * queryFraction) / sp,
    localTokens,
    ctx.model.facts.headDim,
    p.halfEfficiencyHeadDim,
    ctx,
  );
  // Ulysses: all-to-alls of Q, K, V before attention and of O after it, each the rank's local tokens ×
  // all heads (refs/xdit.md §3.1).
  const tensorBytes = localTokens * w.hidden * BF16_BYTES;
  const ulysses = 4 * allToAllSeconds('ulysses', tensorBytes, ctx);
  // Ring: R−1 hops of this rank's K and V (its head group after Ulysses), each overlapped with one
  // block of attention (refs/xdit.md §3.2); the part the block does not hide is exposed. Under
  // PipeFusion the whole cached buffer rotates, so the hop does not shrink with the patch.
  let ring = 0;
  if (d.ring > 1) {
    const hopBytes = (2 * samples * w.sequence * (w.hidden / d.ulysses) * BF16_BYTES) / d.ring;
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

/** The VAE decode, patch-parallel over the replica's ranks (plan.pipeline.vaeDecode). */
function vaeSeconds(ctx: CostContext): number {
  const p = ctx.profile;
  const pixels = ctx.request.height * ctx.request.width * promptsPerReplica(ctx.request, ctx.degrees);
  const ranks = p.runtime.parallelVae ? replicaRanks(ctx.degrees) : 1;
  return (pixels * p.vaeFlopsPerPixel) / (achievableFlops(ctx.topology.gpu, p.vaeEfficiency) * ranks);
}

/** Predicted time of one request (the replica's share of the batch) for one candidate. */
export function predictTime(ctx: CostContext): RequestBreakdown {
  const { degrees: d, request } = ctx;
  const L = ctx.model.facts.layers;
  const cfg = cfgSeconds(ctx);
  const overheadSeconds = ctx.profile.requestOverheadSeconds;
  const vae = vaeSeconds(ctx);

  if (d.pipefusion === 1) {
    const block = blockTime(ctx, 1);
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
  // to the whole K/V buffer. Every block costs the same per token, so the stage with the most blocks
  // sets the pace.
  const M = ctx.patches;
  const P = d.pipefusion;
  const stageLayers = layersPerStage(ctx.model, P, ctx.profile.runtime.stageCut);
  const patch = blockTime(ctx, 1 / M);
  const w = ctx.workload;
  const samples = samplesPerRank(w, request, d);
  const patchActivationBytes = ((samples * w.sequence) / (M * d.ulysses * d.ring)) * w.hidden * BF16_BYTES;
  const handoff = p2pSeconds('pipefusion', patchActivationBytes, ctx);
  // Each patch on each stage pays a fixed cost (its receive, send and synchronisation).
  const stageCompute = stageLayers * sum(patch) + ctx.profile.patchSeconds;
  // Receives are posted one patch ahead, so the hand-off overlaps the next patch's compute.
  const cycle = Math.max(stageCompute, handoff, stageLayers * patch.host);
  // A patch goes round the stage ring once per step: fewer patches than stages leave stages idle.
  const stepSeconds = Math.max(M, P) * cycle + cfg;
  const step: StepBreakdown = {
    compute: M * stageLayers * patch.compute,
    ulysses: M * stageLayers * patch.ulysses,
    ring: M * stageLayers * patch.ring,
    pipefusion: Math.max(M, P) * cycle - M * stageLayers * sum(patch),
    cfg,
    host: 0,
  };
  // Warm-up steps run the whole image through the stages one after another.
  const full = blockTime(ctx, 1);
  const fullHandoff = p2pSeconds('pipefusion', patchActivationBytes * M, ctx);
  const syncStep = Math.max(L * sum(full), L * full.host) + P * fullHandoff + cfg;
  const warmupSeconds = ctx.warmupSteps * syncStep;
  const bubbleSeconds = (P - 1) * cycle;
  const asyncSteps = request.steps - ctx.warmupSteps;
  const totalSeconds = overheadSeconds + vae + warmupSeconds + asyncSteps * stepSeconds + bubbleSeconds;
  return { step, stepSeconds, warmupSeconds, bubbleSeconds, overheadSeconds, vaeSeconds: vae, totalSeconds };
}
