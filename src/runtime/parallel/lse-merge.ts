/**
 * Online merge of blockwise attention results through the log-sum-exp (xdit.md §3.2): with the running
 * (o, l) and a block (ob, lb) over disjoint keys, l' = log(e^l + e^lb) and o' = e^(l−l')·o + e^(lb−l')·ob,
 * computed around the larger exponent so nothing overflows. The merge runs where the blocks live
 * (ops.lseMerge): on the GPU the running output stays there in float32, whatever the blocks' dtype.
 */
import { ops, type Tensor } from '../native/index.js';

export class LseAccumulator {
  private out: Tensor | undefined;
  private lse: Tensor | undefined;
  private blockDtype: Tensor['dtype'] = 'f32';

  /** q's shape [B, Sq, H, D]; the blocks' lse is [B, H, Sq]. */
  constructor(private readonly shape: readonly [number, number, number, number]) {}

  add(blockOut: Tensor, blockLse: Tensor): void {
    if (blockOut.shape.join() !== this.shape.join()) {
      throw new RangeError(
        `LseAccumulator: block output [${blockOut.shape.join(', ')}] is not q's shape [${this.shape.join(', ')}]`,
      );
    }
    if (!this.out || !this.lse) {
      // The running sum is float32 and owned here: a copy even when the block already is f32.
      const f32 = blockOut.to('f32');
      this.out = f32 === blockOut ? blockOut.clone() : f32;
      this.lse = blockLse.clone();
      this.blockDtype = blockOut.dtype;
      return;
    }
    ops.lseMerge(this.out, this.lse, blockOut, blockLse);
  }

  /** The merged attention output [B, Sq, H, D] in the blocks' dtype; the accumulator is spent. */
  result(): Tensor {
    if (!this.out || !this.lse) throw new Error('LseAccumulator: no block was added');
    const merged = this.out.to(this.blockDtype);
    if (merged !== this.out) this.out.release();
    this.lse.release();
    this.out = undefined;
    this.lse = undefined;
    return merged;
  }
}
