/** True classifier-free guidance on the model output over the batch [uncond; cond] (runtime/guidance). */
import { combineGuidance } from '../guidance/true-cfg.js';
import { Tensor } from '../native/index.js';

/** `both` is the output over [uncond; cond] (first half unconditional) → the guided half. */
export function classifierFreeGuidance(both: Tensor, scale: number): Tensor {
  const batch = both.size(0);
  if (batch % 2 !== 0) throw new Error(`CFG needs an even batch [uncond; cond], got ${batch}`);
  const values = both.toFloat32Array();
  const half = values.length / 2;
  const guided = combineGuidance(values.subarray(0, half), values.subarray(half), scale);
  return Tensor.fromArray(guided, [batch / 2, ...both.shape.slice(1)]);
}
