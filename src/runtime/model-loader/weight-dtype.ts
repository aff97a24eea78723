/**
 * Which dtype a rank holds its weights in. TESSERA_MODEL_DTYPE (the DiTInference's spec.model.dtype,
 * written by the operator: bf16, fp16 or fp32) or, without it, the checkpoint's own dtype decides what
 * is wanted: fp32 → f32; a 16-bit checkpoint or bf16/fp16 → narrow (16-bit) weights. Narrow weights are
 * kept only where the device's backend computes with them (backend-capabilities.ts): on CUDA every
 * tensor in bf16 (fp16 weights run as bf16, as on GPUs); on the CPU the weight matrices only, in the
 * checkpoint's bf16 or f16 as the GEMMs read it (widened while packing), with norms, biases and
 * convolution kernels in f32 for the element-wise kernels — and nothing narrow under
 * TESSERA_CPU_KERNELS=openblas, which reads f32 only. Whatever is not kept narrow is converted to f32
 * once at load. f32 stays available for parity runs (TESSERA_MODEL_DTYPE=fp32).
 */
import { MODEL_DTYPES, type ModelDType } from '../../shared/api/v1alpha1/model.js';
import { RUNTIME_ENV } from '../../shared/runtime-contract.js';
import type { BackendCapabilities } from '../native/backend-capabilities.js';
import type { Device, DType } from '../native/index.js';

export type WeightDtype = 'f32' | 'bf16';

export class WeightDtypeError extends Error {
  override readonly name = 'WeightDtypeError';
}

/** TESSERA_MODEL_DTYPE's value, or undefined when unset; anything else is an error naming the variable. */
export function requestedModelDtype(value: string | undefined): ModelDType | undefined {
  const text = value?.trim();
  if (text === undefined || text === '') return undefined;
  if (!(MODEL_DTYPES as readonly string[]).includes(text)) {
    throw new WeightDtypeError(
      `${RUNTIME_ENV.modelDtype} must be one of ${MODEL_DTYPES.join(', ')}, got '${text}'`,
    );
  }
  return text as ModelDType;
}

/** The dtype most of the checkpoint's bytes are stored in ('F32', 'BF16', 'F16'). */
export function dominantDtype(stored: Iterable<{ dtype: string; elements: number }>): string {
  const bytes = new Map<string, number>();
  for (const t of stored) bytes.set(t.dtype, (bytes.get(t.dtype) ?? 0) + t.elements);
  let best = 'F32';
  let most = -1;
  for (const [dtype, n] of bytes) {
    if (n > most) {
      best = dtype;
      most = n;
    }
  }
  return best;
}

export interface WeightDtypeChoice {
  dtype: WeightDtype;
  /** Why, for the load's log line. */
  reason: string;
}

export function chooseWeightDtype(
  requested: ModelDType | undefined,
  checkpointDtype: string,
  backend: BackendCapabilities,
): WeightDtypeChoice {
  if (requested === 'fp32') return { dtype: 'f32', reason: `${RUNTIME_ENV.modelDtype}=fp32` };
  const asked = requested ? `${RUNTIME_ENV.modelDtype}=${requested}` : `the checkpoint is ${checkpointDtype}`;
  if (requested === undefined && checkpointDtype === 'F32') return { dtype: 'f32', reason: asked };
  if (backend.weightDtypes.includes('bf16')) return { dtype: 'bf16', reason: asked };
  return {
    dtype: 'f32',
    reason: `${asked}, but this backend computes with f32 weights: converted once at load`,
  };
}

/**
 * The dtype one tensor of `shape`, stored as `stored` ('F32', 'BF16', 'F16'), is held in when the rank
 * computes with `wanted` weights on `device` (see the module's comment).
 */
export function heldDtype(
  shape: readonly number[],
  stored: string,
  wanted: WeightDtype,
  device: Device,
  backend: BackendCapabilities,
): DType {
  if (wanted === 'f32') return 'f32';
  if (device === 'cuda') return backend.weightDtypes.includes('bf16') ? 'bf16' : 'f32';
  // The CPU's GEMMs take [out, in] matrices narrow; its element-wise kernels would widen on every call.
  if (shape.length !== 2) return 'f32';
  const kept = stored.toLowerCase() === 'f16' ? 'f16' : 'bf16';
  return backend.weightDtypes.includes(kept) ? kept : 'f32';
}
