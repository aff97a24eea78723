/**
 * A request's tensors where the model computes, moved once per request: the latents as float32 (the
 * scheduler updates them in place, so they are always a fresh copy), the per-sample tensors in the
 * model's activation dtype. Shared tensors (position ids) stay on the host, where the family reads them
 * for the token geometry and the rotary tables. Inside the steps nothing then crosses between host and
 * device except what the communicators stage (gloo on a shared GPU), which the per-step copy count shows.
 */
import type { Placement } from '../models/common/placement.js';
import { onPlacement } from '../models/common/placement.js';
import type { Tensor } from '../native/index.js';
import type { DenoiseInputs } from './inputs.js';

export interface PlacedInputs {
  /** The inputs with the latents below and the per-sample tensors placed. */
  readonly inputs: DenoiseInputs;
  /** The latents the loop updates in place: float32, contiguous, on the model's device; the loop owns them. */
  readonly latents: Tensor;
  /** Frees the per-sample copies made here (not the caller's tensors, not the latents). */
  release(): void;
}

/** Where a model without a stated placement computes. */
export const CPU_PLACEMENT: Placement = { device: 'cpu', dtype: 'f32' };

export function placeInputs(inputs: DenoiseInputs, placement: Placement = CPU_PLACEMENT): PlacedInputs {
  const made: Tensor[] = [];
  const place = (t: Tensor, into: Placement): Tensor => {
    const placed = onPlacement(t, into);
    if (placed !== t) made.push(placed);
    return placed;
  };
  const f32 = { device: placement.device, dtype: 'f32' } as const;
  const placedLatents = onPlacement(inputs.latents, f32);
  // A copy the loop owns even when the caller's latents were already there.
  const latents = placedLatents === inputs.latents ? inputs.latents.clone() : placedLatents;
  const samples = Object.fromEntries(
    Object.entries(inputs.samples).map(([name, t]) => [name, place(t, placement)]),
  );
  return {
    inputs: { ...inputs, latents, samples },
    latents,
    release: () => {
      for (const t of made) t.release();
    },
  };
}

/** `t` on the host: itself when it is there, else a copy (and the device tensor is released). */
export function onHost(t: Tensor): Tensor {
  if (t.device === 'cpu') return t;
  const host = t.toDevice('cpu');
  t.release();
  return host;
}
