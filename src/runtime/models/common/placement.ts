/**
 * Where a model computes: the device of its weights and the dtype its activations are held in there. On
 * the GPU that is the weights' dtype (a bf16 checkpoint runs in bf16 with f32 accumulation, as diffusers
 * does; an op converting a bf16 weight to f32 on every call would cost more than the op). On the CPU the
 * kernels compute in f32 whatever the weights are stored in, so activations stay f32 there.
 */
import type { Device, DType, Tensor } from '../../native/index.js';

export interface Placement {
  readonly device: Device;
  readonly dtype: DType;
}

/** The placement of a model whose weights include `weight`. */
export function placementOf(weight: Tensor): Placement {
  return weight.device === 'cuda' ? { device: 'cuda', dtype: weight.dtype } : { device: 'cpu', dtype: 'f32' };
}

/**
 * `x` on `placement`: `x` itself when it is there already, else a converted copy (the caller releases
 * it when it is not `x`). A host tensor is converted before it is uploaded, so a bf16 upload moves half
 * the bytes; inside a step every input should already be on the device (the loops move a request's
 * tensors once), which the host↔device copy counter shows.
 */
export function onPlacement(x: Tensor, placement: Placement): Tensor {
  if (x.device === placement.device && x.dtype === placement.dtype) return x;
  if (x.device === placement.device) return x.to(placement.dtype);
  const converted = x.dtype === placement.dtype ? x : x.to(placement.dtype);
  const moved = converted.toDevice(placement.device);
  if (converted !== x) converted.release();
  return moved;
}

/** `layer` over `x` brought to `placement` (a converted copy is released after use). */
export function applyOnPlacement(
  layer: { apply(x: Tensor): Tensor },
  x: Tensor,
  placement: Placement,
): Tensor {
  const placed = onPlacement(x, placement);
  try {
    return layer.apply(placed);
  } finally {
    if (placed !== x) placed.release();
  }
}
