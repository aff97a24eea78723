import type { CommBuffer, CommDType, TensorLike } from './binding.js';

const BY_CONSTRUCTOR = new Map<unknown, CommDType>([
  [Float32Array, 'f32'],
  [Float64Array, 'f64'],
  [Int8Array, 'i8'],
  [Uint8Array, 'u8'],
  [Uint8ClampedArray, 'u8'],
  [Int32Array, 'i32'],
  [BigInt64Array, 'i64'],
]);

const TENSOR_DTYPES: ReadonlySet<string> = new Set(['f32', 'f64', 'f16', 'bf16', 'i8', 'u8', 'i32', 'i64']);

function isTensor(buf: CommBuffer): buf is TensorLike {
  return !ArrayBuffer.isView(buf);
}

/**
 * The element type of a buffer: a Tensor's own dtype, or the TypedArray's. 16-bit arrays (Uint16Array,
 * Int16Array) are ambiguous between f16 and bf16 and need `explicit`. Only allReduce needs the true
 * type; the other operations only use its width.
 */
export function dtypeOf(buf: CommBuffer, explicit?: CommDType): CommDType {
  if (explicit) return explicit;
  if (isTensor(buf)) {
    if (TENSOR_DTYPES.has(buf.dtype)) return buf.dtype as CommDType;
    throw new TypeError(`tensor dtype '${buf.dtype}' cannot be communicated`);
  }
  const byType = BY_CONSTRUCTOR.get(buf.constructor);
  if (byType) return byType;
  throw new TypeError(
    `cannot tell the element type of a ${buf.constructor.name}: pass dtype ('f16' or 'bf16' for 16-bit data)`,
  );
}

/** Width-only type for data-movement operations: any 16-bit array moves as 'f16'. */
export function movementDtypeOf(buf: CommBuffer): CommDType {
  if (!isTensor(buf) && (buf instanceof Uint16Array || buf instanceof Int16Array)) return 'f16';
  if (!isTensor(buf) && buf instanceof Uint32Array) return 'i32';
  if (!isTensor(buf) && buf instanceof DataView) return 'u8';
  if (!isTensor(buf) && buf instanceof BigUint64Array) return 'i64';
  return dtypeOf(buf);
}
