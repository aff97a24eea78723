/**
 * Test support only: a tiny pure-TypeScript safetensors reader (runtime.md §6) so tests can read the
 * committed goldens and inspect checkpoint headers without the native addon. The runtime uses the
 * bounds-checked native reader in src/runtime/native/.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export interface LiteTensorEntry {
  dtype: string;
  shape: number[];
  dataOffsets: [number, number];
}

export class SafetensorsLite {
  readonly path: string;
  readonly entries: Map<string, LiteTensorEntry>;
  private readonly bytes: Buffer;
  private readonly dataStart: number;

  constructor(path: string) {
    this.path = path;
    this.bytes = readFileSync(path);
    const headerLength = Number(this.bytes.readBigUInt64LE(0));
    this.dataStart = 8 + headerLength;
    const header = JSON.parse(this.bytes.subarray(8, this.dataStart).toString('utf8')) as Record<
      string,
      unknown
    >;
    this.entries = new Map();
    for (const [name, value] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const v = value as { dtype: string; shape: number[]; data_offsets: [number, number] };
      this.entries.set(name, { dtype: v.dtype, shape: v.shape, dataOffsets: v.data_offsets });
    }
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  private entry(name: string): LiteTensorEntry {
    const e = this.entries.get(name);
    if (!e) throw new Error(`${this.path}: no tensor "${name}" (has: ${this.names().join(', ')})`);
    return e;
  }

  shape(name: string): number[] {
    return this.entry(name).shape;
  }

  dtype(name: string): string {
    return this.entry(name).dtype;
  }

  /** The stored bytes of one tensor, any dtype. */
  bytesOf(name: string): Buffer {
    const [begin, end] = this.entry(name).dataOffsets;
    return Buffer.from(this.bytes.subarray(this.dataStart + begin, this.dataStart + end));
  }

  /** F32 tensors only (all golden case files are F32). */
  f32(name: string): Float32Array {
    const e = this.entry(name);
    if (e.dtype !== 'F32') throw new Error(`${this.path}: tensor "${name}" is ${e.dtype}, expected F32`);
    const [begin, end] = e.dataOffsets;
    const copy = this.bytes.subarray(this.dataStart + begin, this.dataStart + end);
    return new Float32Array(copy.buffer.slice(copy.byteOffset, copy.byteOffset + copy.byteLength));
  }
}

export interface LiteTensor {
  name: string;
  dtype: string;
  shape: number[];
  bytes: Buffer;
}

/** Writes a valid safetensors file (contiguous data, header padded to 8 bytes) — for malformed-checkpoint tests. */
export function writeSafetensors(path: string, tensors: LiteTensor[]): void {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileSync(path, Buffer.concat([length, Buffer.from(json), ...tensors.map((t) => t.bytes)]));
}
