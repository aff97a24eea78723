/**
 * FLOPs of one Flux block at batch 1 (2 per multiply-add; GEMMs and attention, the element-wise work
 * is left out), for the TFLOP/s the GPU step benchmark prints. S = image + text tokens, D = hidden, F =
 * MLP width (4·D in Flux).
 *   double block: per stream QKV (D → 3D), output projection (D → D), MLP (D → F → D), AdaLN (D → 6D on
 *                 one token), over both streams, plus attention over the joint sequence (Q·Kᵀ and P·V);
 *   single block: QKV and MLP-in side by side (D → 3D + F), output projection (D + F → D), AdaLN (D → 3D),
 *                 plus the same attention.
 */
export interface StepShape {
  imageTokens: number;
  textTokens: number;
  hidden: number;
  mlp: number;
}

export function blockFlops(shape: StepShape): { double: number; single: number } {
  const s = shape.imageTokens + shape.textTokens;
  const d = shape.hidden;
  const f = shape.mlp;
  const attention = 2 * 2 * s * s * d;
  const double = 2 * s * d * (3 * d + d + 2 * f) + 2 * 2 * d * 6 * d + attention;
  const single = 2 * s * d * (3 * d + f) + 2 * s * (d + f) * d + 2 * d * 3 * d + attention;
  return { double, single };
}
