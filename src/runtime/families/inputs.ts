/** Small readers the family adapters share for request tensors and config sizes. */
import type { Tensor } from '../native/index.js';
import type { InputDims } from './family.js';

/** The size `name` of a family's input dims; a missing one is a programming error that names it. */
export function dim(dims: InputDims, name: string): number {
  const value = dims[name];
  if (value === undefined) throw new Error(`the checkpoint dims have no ${name}`);
  return value;
}

/** The request tensor `name` (serving validated its presence before the executor ran). */
export function requireTensor(tensors: ReadonlyMap<string, Tensor>, name: string): Tensor {
  const t = tensors.get(name);
  if (!t) throw new Error(`the batch has no ${name} (the server validates it is always present)`);
  return t;
}
