import { BF16_BYTES, type ModelSpec } from '../models/index.js';
import type { Degrees, RequestShape } from '../plan/index.js';
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
/** CUDA context, NCCL buffers and kernel workspaces. */
const RUNTIME_RESERVE_BYTES = 1.5e9;
/** Fraction of GPU memory a plan may use; the rest absorbs allocator fragmentation. */
export const USABLE_MEMORY_FRACTION = 0.95;

export function layersPerStage(layers: number, pipefusion: number): number {
  return Math.ceil(layers / pipefusion);
}

export function memoryPerGpu(
  model: ModelSpec,
  request: RequestShape,
  w: Workload,
  d: Degrees,
): MemoryBreakdown {
  const f = model.facts;
  const sp = d.ulysses * d.ring;
  const stageShare = layersPerStage(f.layers, d.pipefusion) / f.layers;
  const weights = f.parameters * BF16_BYTES * stageShare + model.vaeBytes;
  const samples = samplesPerRank(w, request, d);
  // The synchronous warm-up step runs the whole local sequence at once, so that is the peak even
  // under PipeFusion.
  const activations = samples * (w.sequence / sp) * w.hidden * BF16_BYTES * ACTIVATION_TENSORS_PER_TOKEN;
  // PipeFusion keeps K and V of the whole sequence for every layer of the stage, for this rank's heads
  // (the buffer is taken after the Ulysses all-to-all).
  const kvBuffers =
    d.pipefusion > 1
      ? layersPerStage(f.layers, d.pipefusion) *
        2 *
        samples *
        w.sequence *
        (w.hidden / d.ulysses) *
        BF16_BYTES
      : 0;
  // One image decodes at a time on the replica's last rank, after the denoiser's buffers are free.
  const vaePeak = request.height * request.width * VAE_PEAK_CHANNELS * VAE_PEAK_TENSORS * BF16_BYTES;
  const reserve = RUNTIME_RESERVE_BYTES;
  const total = weights + model.textEncoderBytes + reserve + Math.max(activations + kvBuffers, vaePeak);
  return { weights, textEncoders: model.textEncoderBytes, activations, kvBuffers, vaePeak, reserve, total };
}
