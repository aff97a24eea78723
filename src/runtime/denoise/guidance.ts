/** True classifier-free guidance: pred = uncond + s·(cond − uncond), float32 like torch. */
import { Tensor } from '../native/index.js';

/** `both` is the model output over the batch [uncond; cond] (first half unconditional). */
export function classifierFreeGuidance(both: Tensor, scale: number): Tensor {
  const batch = both.size(0);
  if (batch % 2 !== 0) throw new Error(`CFG needs an even batch [uncond; cond], got ${batch}`);
  const values = both.toFloat32Array();
  const half = values.length / 2;
  const s = Math.fround(scale);
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    const u = values[i] as number;
    const c = values[half + i] as number;
    out[i] = u + Math.fround(s * Math.fround(c - u));
  }
  return Tensor.fromArray(out, [batch / 2, ...both.shape.slice(1)]);
}
