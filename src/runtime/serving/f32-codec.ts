/**
 * Little-endian f32 bytes ⇄ Float32Array. Typed arrays use the host's byte order; every platform the
 * runtime targets (x86-64, arm64) is little-endian, and a big-endian host is refused at load rather than
 * silently byte-swapping every tensor.
 */
import { endianness } from 'node:os';

if (endianness() !== 'LE') {
  throw new Error('the serving codec needs a little-endian host (tensors travel as little-endian f32)');
}

/**
 * The bytes as f32 values: a view when they start 4-byte aligned (large decoded buffers do), else an
 * aligned copy (a Buffer slice may start at any byte offset).
 */
export function f32FromBytes(bytes: Uint8Array): Float32Array {
  const length = Math.floor(bytes.byteLength / 4);
  if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, length);
  const out = new Float32Array(length);
  new Uint8Array(out.buffer).set(bytes.subarray(0, length * 4));
  return out;
}

export function bytesFromF32(data: Float32Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Strict base64. Buffer.from skips characters it cannot decode, so a payload with stray characters (or
 * truncated, or padded mid-way) decodes to fewer bytes than its length promises; that is the check. It
 * runs at native speed, where a validating regex costs ~100 ms on a Flux prompt embedding.
 */
export function decodeBase64(text: string): Buffer | null {
  if (text.length % 4 !== 0) return null;
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const bytes = Buffer.from(text, 'base64');
  return bytes.length === (text.length / 4) * 3 - padding ? bytes : null;
}

/** Index of the first NaN or ±Infinity, or -1. */
export function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) return i;
  }
  return -1;
}
