/**
 * Writes tensors as a safetensors file (huggingface/safetensors format): 8-byte little-endian header
 * length, a JSON header (name → dtype, shape, data_offsets; optional __metadata__ of strings) padded with
 * spaces to a multiple of 8, then the raw little-endian data in header order. Inputs are validated first,
 * so a bad name or dtype fails before anything is written; the file is written whole, then renamed into
 * place, so a reader never sees a half-written file.
 */
import { renameSync, writeFileSync } from 'node:fs';
import type { Tensor } from './tensor.js';

const STORED_DTYPE = { f32: 'F32', bf16: 'BF16', f16: 'F16' } as const;

export class SafetensorsWriteError extends Error {
  override readonly name = 'SafetensorsWriteError';
}

/** The bytes of a safetensors file holding `tensors` (insertion order). */
export function safetensorsBytes(
  tensors: ReadonlyMap<string, Tensor>,
  metadata?: Record<string, string>,
): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new SafetensorsWriteError(`metadata "${k}" must be a string`);
    }
    header.__metadata__ = metadata;
  }
  const blobs: Buffer[] = [];
  let offset = 0;
  for (const [name, tensor] of tensors) {
    if (name === '' || name === '__metadata__') {
      throw new SafetensorsWriteError(`tensor name ${JSON.stringify(name)} is reserved or empty`);
    }
    if (tensor.device !== 'cpu')
      throw new SafetensorsWriteError(`tensor "${name}" is on ${tensor.device}; copy it to the CPU first`);
    const dense = tensor.contiguous();
    const data = dense.data();
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    // Copy: the tensor's memory may be released or reused after this call returns.
    blobs.push(Buffer.from(bytes));
    if (dense !== tensor) dense.release();
    header[name] = {
      dtype: STORED_DTYPE[tensor.dtype],
      shape: [...tensor.shape],
      data_offsets: [offset, offset + bytes.length],
    };
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  const padding = (8 - (Buffer.byteLength(json) % 8)) % 8;
  json += ' '.repeat(padding);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([length, Buffer.from(json, 'utf8'), ...blobs]);
}

/** Writes `tensors` to `path` atomically (temporary file + rename). */
export function writeSafetensors(
  path: string,
  tensors: ReadonlyMap<string, Tensor>,
  metadata?: Record<string, string>,
): void {
  const bytes = safetensorsBytes(tensors, metadata);
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, bytes);
    renameSync(temporary, path);
  } catch (cause) {
    throw new SafetensorsWriteError(`cannot write ${path}: ${(cause as Error).message}`, { cause });
  }
}
