/**
 * Online merge of blockwise attention results through the log-sum-exp, in f32 (xdit.md §3.2): with the
 * running (o, l) and a block (ob, lb) over disjoint keys, l' = log(e^l + e^lb) and
 * o' = e^(l−l')·o + e^(lb−l')·ob, computed around the larger exponent so nothing overflows.
 */
import { Tensor } from '../native/index.js';

export class LseAccumulator {
  private out: Float32Array | undefined;
  private lse: Float32Array | undefined;

  /** q's shape [B, Sq, H, D]; the blocks' lse is [B, H, Sq]. */
  constructor(private readonly shape: readonly [number, number, number, number]) {}

  add(blockOut: Tensor, blockLse: Tensor): void {
    const o = blockOut.toFloat32Array();
    const l = blockLse.toFloat32Array();
    if (!this.out || !this.lse) {
      this.out = o;
      this.lse = l;
      return;
    }
    const [b, sq, h, d] = this.shape;
    const out = this.out;
    const lse = this.lse;
    for (let bi = 0; bi < b; bi++) {
      for (let hi = 0; hi < h; hi++) {
        for (let t = 0; t < sq; t++) {
          const li = (bi * h + hi) * sq + t;
          const a = lse[li] as number;
          const c = l[li] as number;
          const m = Math.max(a, c);
          const wa = Math.exp(a - m);
          const wc = Math.exp(c - m);
          const sum = wa + wc;
          lse[li] = m + Math.log(sum);
          const fa = wa / sum;
          const fc = wc / sum;
          const base = ((bi * sq + t) * h + hi) * d;
          for (let k = 0; k < d; k++) {
            out[base + k] = fa * (out[base + k] as number) + fc * (o[base + k] as number);
          }
        }
      }
    }
  }

  /** The merged attention output [B, Sq, H, D]. */
  result(): Tensor {
    if (!this.out) throw new Error('LseAccumulator: no block was added');
    return Tensor.fromArray(this.out, this.shape);
  }
}
