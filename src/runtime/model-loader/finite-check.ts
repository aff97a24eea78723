/**
 * The optional load-time check that every weight is finite. A checkpoint with a NaN or ±Infinity loads
 * and runs, and every image it makes is NaN; the check finds the tensor before serving starts. It reads
 * each weight once more, so it is off unless asked for.
 */
import { RUNTIME_ENV } from '../../shared/runtime-contract.js';
import type { Tensor } from '../native/index.js';

/** Whether TESSERA_CHECK_WEIGHTS asks for the check ("finite"); anything else set is a mistake. */
export function finiteCheckRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env[RUNTIME_ENV.checkWeights];
  if (value === undefined || value === '') return false;
  if (value === 'finite') return true;
  throw new Error(
    `${RUNTIME_ENV.checkWeights} is ${JSON.stringify(value)}; set it to "finite" to check every weight for ` +
      'NaN and Infinity, or leave it unset',
  );
}

/** Index of the first NaN or ±Infinity of a host tensor (any dtype), or -1. */
export function firstNonFiniteElement(tensor: Tensor): number {
  // bf16/f16 weight matrices are checked on their f32 widening (exact: the same NaN/Infinity positions).
  const data = tensor.dtype === 'f32' && tensor.isContiguous ? tensor.data() : tensor.toFloat32Array();
  if (!(data instanceof Float32Array)) throw new Error('the finite check reads f32 tensors');
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) return i;
  }
  return -1;
}
