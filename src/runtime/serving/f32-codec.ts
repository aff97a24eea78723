/**
 * Little-endian f32 bytes ⇄ Float32Array. Typed arrays use the host's byte order; every platform the
 * runtime targets (x86-64, arm64) is little-endian, and a big-endian host is refused at load rather than
 * silently byte-swapping every tensor.
 */
import { endianness } from 'node:os';

if (endianness() !== 'LE') {
  throw new Error('the serving codec needs a little-endian host (tensors travel as little-endian f32)');
}

/** Copies bytes into an aligned Float32Array (a Buffer view may start at any byte offset). */
export function f32FromBytes(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes.subarray(0, out.length * 4));
  return out;
}

export function bytesFromF32(data: Float32Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict base64 (Buffer.from skips bad characters silently, which would hide a truncated payload). */
export function decodeBase64(text: string): Buffer | null {
  if (text.length % 4 !== 0 || !BASE64.test(text)) return null;
  return Buffer.from(text, 'base64');
}

/** Index of the first NaN or ±Infinity, or -1. */
export function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) return i;
  }
  return -1;
}
