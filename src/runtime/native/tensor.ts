/**
 * Tensor: the TypeScript face of a native tensor. Shapes are number[] (row-major, PyTorch order);
 * dtype is storage ('f32' | 'bf16' | 'f16'), compute is f32. Views (narrow, slice, split, permute,
 * reshape of a contiguous tensor) share memory with their source; contiguous(), to() and clone() copy.
 *
 * Tensors live on 'cpu' or 'cuda' (toDevice moves them); an op runs where its first tensor lives.
 *
 * Memory is native. release() frees this object's reference at once (the memory goes when the last view
 * is released); otherwise the garbage collector's finalizer frees it. `using t = ...` releases at scope end.
 */
import { type Device, type DType, type NativeTensor, nativeCore } from './binding.js';

export type { Device, DType } from './binding.js';

export class Tensor {
  /** The native object; the communicators' GetBufferView reads this property. */
  readonly handle: NativeTensor;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly device: Device;

  constructor(handle: NativeTensor) {
    this.handle = handle;
    this.shape = Object.freeze(handle.shape);
    this.dtype = handle.dtype;
    this.device = handle.device;
  }

  /** Uninitialised memory (every element is overwritten by whoever asked for it). */
  static empty(shape: readonly number[], dtype: DType = 'f32', device: Device = 'cpu'): Tensor {
    return new Tensor(nativeCore().empty(shape, dtype, device));
  }

  static zeros(shape: readonly number[], dtype: DType = 'f32', device: Device = 'cpu'): Tensor {
    return new Tensor(nativeCore().zeros(shape, dtype, device));
  }

  /**
   * A tensor over the typed array's own memory (no copy): writes through either are seen by both. A
   * Float32Array is f32; a Uint16Array holds bf16 (default) or f16 bit patterns.
   */
  static fromArray(array: Float32Array | Uint16Array, shape: readonly number[], dtype?: DType): Tensor {
    return new Tensor(nativeCore().fromArray(array, shape, dtype));
  }

  /** A new f32 tensor holding a copy of `values`. */
  static of(values: ArrayLike<number>, shape: readonly number[]): Tensor {
    return Tensor.fromArray(Float32Array.from(values), shape);
  }

  get rank(): number {
    return this.shape.length;
  }

  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** Bytes of the values this tensor shows (4 per f32, 2 per bf16/f16 element). */
  get bytes(): number {
    return this.numel * (this.dtype === 'f32' ? 4 : 2);
  }

  get strides(): number[] {
    return this.handle.strides;
  }

  get isContiguous(): boolean {
    return this.handle.isContiguous;
  }

  get released(): boolean {
    return this.handle.released;
  }

  /** Size of one axis; negative axes count from the end. */
  size(axis: number): number {
    const size = this.shape[normalizeAxis(axis, this.rank)];
    if (size === undefined) throw new RangeError(`axis ${axis} is out of range for rank ${this.rank}`);
    return size;
  }

  /** The elements without copying (contiguous tensors only): Float32Array for f32, else raw Uint16Array bits. */
  data(): Float32Array | Uint16Array {
    return this.handle.data();
  }

  /**
   * A fresh Float32Array of the elements in logical (row-major) order, whatever the dtype, layout or
   * device (a 'cuda' tensor is copied to the host first: one counted transfer, see transferCounts()).
   */
  toFloat32Array(): Float32Array {
    const host = this.handle.device === 'cpu' ? this.handle : this.handle.toDevice('cpu');
    const f32 = host.to('f32');
    const copy = Float32Array.from(f32.data() as Float32Array);
    if (f32 !== host) f32.release();
    if (host !== this.handle) host.release();
    return copy;
  }

  /** View of `length` entries of `axis` starting at `start`. */
  narrow(axis: number, start: number, length: number): Tensor {
    return new Tensor(this.handle.narrow(axis, start, length));
  }

  /** View of [start, end) along `axis`; negative bounds count from the end, end defaults to the size. */
  slice(axis: number, start: number, end?: number): Tensor {
    const size = this.size(axis);
    const from = start < 0 ? start + size : start;
    const to = end === undefined ? size : end < 0 ? end + size : end;
    return this.narrow(axis, from, to - from);
  }

  /** Views cutting `axis` into pieces of the given sizes, or into `count` equal pieces when a number. */
  split(sizes: number | readonly number[], axis: number): Tensor[] {
    const total = this.size(axis);
    let pieces: readonly number[];
    if (typeof sizes === 'number') {
      if (sizes <= 0 || total % sizes !== 0) {
        throw new RangeError(
          `split: axis ${axis} of size ${total} does not divide into ${sizes} equal parts`,
        );
      }
      pieces = Array.from({ length: sizes }, () => total / sizes);
    } else {
      pieces = sizes;
    }
    const sum = pieces.reduce((a, b) => a + b, 0);
    if (sum !== total)
      throw new RangeError(
        `split: sizes ${JSON.stringify(pieces)} add up to ${sum}, axis ${axis} has ${total}`,
      );
    const views: Tensor[] = [];
    let start = 0;
    for (const length of pieces) {
      views.push(this.narrow(axis, start, length));
      start += length;
    }
    return views;
  }

  /** View with axes reordered: result axis i is this tensor's axis order[i]. */
  permute(order: readonly number[]): Tensor {
    return new Tensor(this.handle.permute(order));
  }

  transpose(axisA: number, axisB: number): Tensor {
    const order = this.shape.map((_, i) => i);
    const a = normalizeAxis(axisA, this.rank);
    const b = normalizeAxis(axisB, this.rank);
    order[a] = b;
    order[b] = a;
    return this.permute(order);
  }

  /** Same elements in a new shape (one entry may be -1): a view when contiguous, else a contiguous copy. */
  reshape(shape: readonly number[]): Tensor {
    if (this.isContiguous) return new Tensor(this.handle.view(shape));
    const dense = this.handle.contiguous();
    const view = new Tensor(dense.view(shape));
    dense.release();
    return view;
  }

  /** This tensor when already contiguous, else a contiguous copy. */
  contiguous(): Tensor {
    const dense = this.handle.contiguous();
    return dense === this.handle ? this : new Tensor(dense);
  }

  /** This tensor when it already has the dtype and is contiguous, else a converted contiguous copy. */
  to(dtype: DType): Tensor {
    const converted = this.handle.to(dtype);
    return converted === this.handle ? this : new Tensor(converted);
  }

  /**
   * This tensor when it is already contiguous on `device`, else a contiguous copy there (same dtype).
   * On 'cuda' the kernels compute in the tensor's dtype (f32, or bf16 with f32 accumulation).
   */
  toDevice(device: Device): Tensor {
    const moved = this.handle.toDevice(device);
    return moved === this.handle ? this : new Tensor(moved);
  }

  clone(): Tensor {
    return new Tensor(this.handle.clone());
  }

  /** Copies `source` (same shape, any dtype and layout) into this tensor's memory; returns this. */
  copyFrom(source: Tensor): this {
    this.handle.copyFrom(source.handle);
    return this;
  }

  sharesStorage(other: Tensor): boolean {
    return this.handle.sharesStorage(other.handle);
  }

  release(): void {
    this.handle.release();
  }

  [Symbol.dispose](): void {
    this.release();
  }

  toString(): string {
    return `Tensor(${this.dtype}[${this.shape.join(', ')}], ${this.device})`;
  }
}

function normalizeAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new RangeError(`axis ${axis} is out of range for rank ${rank}`);
  }
  return a;
}
