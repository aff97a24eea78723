/**
 * Writes tensors as a safetensors file (huggingface/safetensors format): 8-byte little-endian header
 * length, a JSON header (name → dtype, shape, data_offsets; optional __metadata__ of strings) padded with
 * spaces to a multiple of 8, then the raw little-endian data in header order. Inputs are validated first,
 * so a bad name or dtype fails before anything is written; the file is written whole, then renamed into
 * place, so a reader never sees a half-written file.
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import type { Tensor } from './tensor.js';

const STORED_DTYPE = { f32: 'F32', bf16: 'BF16', f16: 'F16' } as const;

export class SafetensorsWriteError extends Error {
  override readonly name = 'SafetensorsWriteError';
}

/** A tensor's entry in the header: what a streamed write declares before its bytes. */
export interface SafetensorsEntry {
  name: string;
  dtype: Tensor['dtype'];
  shape: readonly number[];
}

const entryBytes = (e: SafetensorsEntry) => e.shape.reduce((a, b) => a * b, 1) * (e.dtype === 'f32' ? 4 : 2);

/** The length prefix and JSON header for `entries` (data in their order), checked before anything is written. */
function headerBytes(entries: readonly SafetensorsEntry[], metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new SafetensorsWriteError(`metadata "${k}" must be a string`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const { name, dtype, shape } of entries) {
    if (name === '' || name === '__metadata__') {
      throw new SafetensorsWriteError(`tensor name ${JSON.stringify(name)} is reserved or empty`);
    }
    const bytes = entryBytes({ name, dtype, shape });
    header[name] = { dtype: STORED_DTYPE[dtype], shape: [...shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const padding = (8 - (Buffer.byteLength(json) % 8)) % 8;
  json += ' '.repeat(padding);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([length, Buffer.from(json, 'utf8')]);
}

/** The bytes of a safetensors file holding `tensors` (insertion order). */
export function safetensorsBytes(
  tensors: ReadonlyMap<string, Tensor>,
  metadata?: Record<string, string>,
): Buffer {
  const entries: SafetensorsEntry[] = [];
  for (const [name, tensor] of tensors) {
    if (tensor.device !== 'cpu')
      throw new SafetensorsWriteError(`tensor "${name}" is on ${tensor.device}; copy it to the CPU first`);
    entries.push({ name, dtype: tensor.dtype, shape: tensor.shape });
  }
  const header = headerBytes(entries, metadata);
  const blobs: Buffer[] = [];
  for (const tensor of tensors.values()) {
    const dense = tensor.contiguous();
    const data = dense.data();
    // Copy: the tensor's memory may be released or reused after this call returns.
    blobs.push(Buffer.from(Buffer.from(data.buffer, data.byteOffset, data.byteLength)));
    if (dense !== tensor) dense.release();
  }
  return Buffer.concat([header, ...blobs]);
}

/** Writes `tensors` to `path` atomically (temporary file + rename). */
export function writeSafetensors(
  path: string,
  tensors: ReadonlyMap<string, Tensor>,
  metadata?: Record<string, string>,
): void {
  const bytes = safetensorsBytes(tensors, metadata);
  writeAtomically(path, (fd) => writeAll(fd, bytes));
}

/**
 * Writes a file too large to hold in memory: the header for `entries`, then `data(entry, index)` for each in
 * turn (its bytes in the entry's dtype, row-major), atomically as `writeSafetensors`.
 */
export function writeSafetensorsStreamed(
  path: string,
  entries: readonly SafetensorsEntry[],
  data: (entry: SafetensorsEntry, index: number) => Uint8Array,
): void {
  const header = headerBytes(entries);
  writeAtomically(path, (fd) => {
    writeAll(fd, header);
    for (const [index, entry] of entries.entries()) {
      const bytes = data(entry, index);
      const expected = entryBytes(entry);
      if (bytes.byteLength !== expected) {
        throw new SafetensorsWriteError(
          `tensor "${entry.name}": ${bytes.byteLength} bytes, its entry needs ${expected}`,
        );
      }
      writeAll(fd, bytes);
    }
  });
}

/** One write(2) moves at most ~2 GiB; a whole checkpoint can be larger. */
function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.byteLength; ) done += writeSync(fd, bytes, done, bytes.byteLength - done);
}

function writeAtomically(path: string, write: (fd: number) => void): void {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    const fd = openSync(temporary, 'w');
    try {
      write(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (cause) {
    rmSync(temporary, { force: true });
    if (cause instanceof SafetensorsWriteError) throw cause;
    throw new SafetensorsWriteError(`cannot write ${path}: ${(cause as Error).message}`, { cause });
  }
}
