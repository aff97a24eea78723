/** Small tensor cuts the family adapters share when they narrow a step state to a token range. */
import type { Tensor } from '../native/index.js';

/** Releases `old` and returns `next` (for `state.x = replace(state.x, cut(state.x))`). */
export function replace(old: Tensor, next: Tensor): Tensor {
  old.release();
  return next;
}

/** Rows [start, end) of a 2-D table (rotary tables are [tokens, head_dim]) as a contiguous tensor. */
export function tableRows(x: Tensor, start: number, end: number): Tensor {
  const view = x.narrow(0, start, end - start);
  const dense = view.contiguous();
  if (dense !== view) view.release();
  return dense;
}

/** `value` once per sample. */
export const perSample = (batch: number, value: number): number[] => new Array<number>(batch).fill(value);
