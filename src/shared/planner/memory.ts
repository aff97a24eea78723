import { BF16_BYTES, type ModelSpec, type TransformerWeights, transformerWeights } from '../models/index.js';
import {
  balancedStages,
  type Degrees,
  type RequestShape,
  replicaRanks,
  type StageRange,
} from '../plan/index.js';
import type { MemoryBreakdown } from './types.js';
import { samplesPerRank, type Workload } from './workload.js';

/**
 * Live hidden-sized tensors per token inside one block with a fused attention kernel: the residual,
 * the normalised input, Q, K, V, the attention output and the 4·D feed-forward intermediate (counted
 * as 4), plus the all-to-all receive buffers (2). No N² score matrix is ever materialised.
 */
const ACTIVATION_TENSORS_PER_TOKEN = 12;
/**
 * The VAE decoder's peak: the input and output of the 512-channel convolution after the last
 * upsampling, at full image resolution (xDiT #71: 1×512×8192² fp16 ≈ 64 GB at 8K).
 */
const VAE_PEAK_CHANNELS = 512;
const VAE_PEAK_TENSORS = 2;
/**
 * Rows of halo a patch-parallel decode rank holds beyond its band at full resolution: one row above and
 * one below for the 3×3 convolution being computed (halos are exchanged per convolution, not kept).
 */
const VAE_HALO_ROWS = 2;
/** CUDA context, NCCL buffers and kernel workspaces. */
const RUNTIME_RESERVE_BYTES = 1.5e9;
/** Fraction of GPU memory a plan may use; the rest absorbs allocator fragmentation. */
export const USABLE_MEMORY_FRACTION = 0.95;

/**
 * How PipeFusion cuts the blocks into stages: `parameters` — Tessera's runtime, balanced by parameters
 * (src/shared/plan/stages.ts); `blocks` — xDiT's ⌈blocks / stages⌉ per stage, the rest on the last
 * (refs/xdit.md §3.5), which the calibration against xDiT's measurements uses.
 */
export type StageCut = 'parameters' | 'blocks';

/** A stage cut and each stage's parameters, per weight layout, cut and stage count. */
interface CutStages {
  stages: StageRange[];
  parameters: number[];
}
const stageCache = new WeakMap<TransformerWeights, Map<string, CutStages>>();

function blockCountStages(blocks: number, pipefusion: number): StageRange[] {
  const per = Math.ceil(blocks / pipefusion);
  return Array.from({ length: pipefusion }, (_, i) => ({
    fromBlock: Math.min(blocks, i * per),
    toBlock: Math.min(blocks, (i + 1) * per),
  }));
}

/**
 * The cut for `pipefusion` stages, computed once per weight layout: the planner asks for it for every
 * rank it sizes of every candidate, and the parameter-balanced cut is a dynamic programme.
 */
function cachedCut(model: ModelSpec, pipefusion: number, cut: StageCut): CutStages {
  const w = transformerWeights(model);
  let byKey = stageCache.get(w);
  if (!byKey) {
    byKey = new Map();
    stageCache.set(w, byKey);
  }
  const key = `${cut}:${pipefusion}`;
  let entry = byKey.get(key);
  if (!entry) {
    const count = Math.min(pipefusion, w.blocks.length);
    const stages =
      cut === 'blocks' ? blockCountStages(w.blocks.length, count) : balancedStages(w.blocks, count);
    const parameters = stages.map((s, i) => {
      let n = 0;
      for (let b = s.fromBlock; b < s.toBlock; b++) n += w.blocks[b] ?? 0;
      if (i === 0) n += w.embed;
      if (i === stages.length - 1) n += w.head;
      return n;
    });
    entry = { stages, parameters };
    byKey.set(key, entry);
  }
  return entry;
}

/** PipeFusion's cut of the model's blocks into stages. */
export function pipelineStages(
  model: ModelSpec,
  pipefusion: number,
  cut: StageCut = 'parameters',
): readonly StageRange[] {
  return cachedCut(model, pipefusion, cut).stages;
}

/** Transformer parameters of each PipeFusion stage: its blocks, the embedders on the first, the head on the last. */
export function stageParameters(
  model: ModelSpec,
  pipefusion: number,
  cut: StageCut = 'parameters',
): readonly number[] {
  return cachedCut(model, pipefusion, cut).parameters;
}

/**
 * Blocks of the stage with the most blocks: the slowest stage (every block costs the same per token —
 * Flux's double and single blocks both apply 12·D² weights per token) and the largest K/V buffer.
 */
export function layersPerStage(model: ModelSpec, pipefusion: number, cut: StageCut = 'parameters'): number {
  return Math.max(...pipelineStages(model, pipefusion, cut).map((s) => s.toBlock - s.fromBlock));
}

/** Bytes of the patch-parallel VAE decode on one rank: its band of rows plus halos (refs/xdit.md §3.10). */
export function vaeDecodePeakBytes(request: RequestShape, decodeRanks: number): number {
  const rows = Math.min(request.height, Math.ceil(request.height / decodeRanks) + VAE_HALO_ROWS);
  return rows * request.width * VAE_PEAK_CHANNELS * VAE_PEAK_TENSORS * BF16_BYTES;
}

/**
 * Peak bytes of one rank, as the runtime places things (docs/architecture.md): its PipeFusion stage's
 * weights and the VAE weights on every rank, the text encoders on the group leader (rank 0) only; the
 * denoiser's activations and PipeFusion K/V buffers, or — after the denoiser's buffers are freed — the
 * rank's band of the patch-parallel VAE decode over the replica's ranks, whichever is larger.
 */
export function rankMemory(
  model: ModelSpec,
  request: RequestShape,
  w: Workload,
  d: Degrees,
  rank: number,
  cut: StageCut = 'parameters',
): MemoryBreakdown {
  const f = model.facts;
  const sp = d.ulysses * d.ring;
  const stage = Math.floor(rank / sp) % d.pipefusion;
  const weights = (stageParameters(model, d.pipefusion, cut)[stage] ?? 0) * BF16_BYTES + model.vaeBytes;
  const range = pipelineStages(model, d.pipefusion, cut)[stage];
  const stageBlocks = range ? range.toBlock - range.fromBlock : f.layers;
  const samples = samplesPerRank(w, request, d);
  // The synchronous warm-up step runs the whole local sequence at once, so that is the peak even
  // under PipeFusion.
  const activations = samples * (w.sequence / sp) * w.hidden * BF16_BYTES * ACTIVATION_TENSORS_PER_TOKEN;
  // PipeFusion keeps K and V of the whole sequence for every layer of the stage, for this rank's heads
  // (the buffer is taken after the Ulysses all-to-all).
  const kvBuffers =
    d.pipefusion > 1 ? stageBlocks * 2 * samples * w.sequence * (w.hidden / d.ulysses) * BF16_BYTES : 0;
  const vaePeak = vaeDecodePeakBytes(request, replicaRanks(d));
  const textEncoders = rank === 0 ? model.textEncoderBytes : 0;
  const reserve = RUNTIME_RESERVE_BYTES;
  const total = weights + textEncoders + reserve + Math.max(activations + kvBuffers, vaePeak);
  return { rank, weights, textEncoders, activations, kvBuffers, vaePeak, reserve, total };
}

/**
 * The rank of the group that needs the most memory, and its breakdown. Ranks differ only by their
 * PipeFusion stage and by the leader's text encoders: the leader (rank 0, stage 0) and the first rank
 * of every other stage cover them all.
 */
export function memoryPerGpu(
  model: ModelSpec,
  request: RequestShape,
  w: Workload,
  d: Degrees,
  cut: StageCut = 'parameters',
): MemoryBreakdown {
  const sp = d.ulysses * d.ring;
  let worst = rankMemory(model, request, w, d, 0, cut);
  for (let stage = 1; stage < d.pipefusion; stage++) {
    const m = rankMemory(model, request, w, d, stage * sp, cut);
    if (m.total > worst.total) worst = m;
  }
  return worst;
}
