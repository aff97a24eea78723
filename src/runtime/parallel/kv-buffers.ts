/**
 * PipeFusion's per-layer KV buffers (xdit.md §3.5): for every attention layer of this stage, K and V of
 * the whole image sequence (this rank's head group), from the latest step that touched each region. A
 * patch overwrites its own rows with fresh K/V and attends over the whole buffer, so earlier patches of
 * this step are fresh and later ones one step stale. The buffers start over when the request's shape
 * changes (a buffer sized for another image would be silently wrong).
 */
import { Tensor } from '../native/index.js';

export interface KvPair {
  k: Tensor;
  v: Tensor;
}

export class KvBuffers {
  private readonly layers = new Map<string, KvPair>();
  private shapeKey = '';

  /** Drops every buffer unless they were made for this [B, N, h, D]. */
  prepare(shape: readonly [number, number, number, number]): void {
    const key = shape.join('x');
    if (key === this.shapeKey) return;
    this.clear();
    this.shapeKey = key;
  }

  /**
   * The layer's buffer, created (zeros) at the prepared shape on first use, with the dtype and device of
   * `like` (the K/V written into it; f32 on the CPU without one).
   */
  layer(name: string, like?: Tensor): KvPair {
    let pair = this.layers.get(name);
    if (!pair) {
      const shape = this.shapeKey.split('x').map(Number);
      if (shape.length !== 4) throw new Error('KvBuffers.prepare must be called before the first layer');
      const dtype = like?.dtype ?? 'f32';
      const device = like?.device ?? 'cpu';
      pair = { k: Tensor.zeros(shape, dtype, device), v: Tensor.zeros(shape, dtype, device) };
      this.layers.set(name, pair);
    }
    return pair;
  }

  /** Writes K/V of image tokens [start, start + n) into the layer's buffer. */
  write(name: string, start: number, k: Tensor, v: Tensor): void {
    const pair = this.layer(name, k);
    const n = k.size(1);
    const kView = pair.k.narrow(1, start, n);
    const vView = pair.v.narrow(1, start, n);
    kView.copyFrom(k);
    vView.copyFrom(v);
    kView.release();
    vView.release();
  }

  get size(): number {
    return this.layers.size;
  }

  clear(): void {
    for (const pair of this.layers.values()) {
      pair.k.release();
      pair.v.release();
    }
    this.layers.clear();
    this.shapeKey = '';
  }
}
