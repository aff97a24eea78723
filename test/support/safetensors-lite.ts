/**
 * Test support only: a tiny pure-TypeScript safetensors reader (runtime.md §6) so tests can read the
 * committed goldens and inspect checkpoint headers without the native addon. The runtime uses the
 * bounds-checked native reader in src/runtime/native/.
 */
import { readFileSync } from 'node:fs';

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

  /** F32 tensors only (all golden case files are F32). */
  f32(name: string): Float32Array {
    const e = this.entry(name);
    if (e.dtype !== 'F32') throw new Error(`${this.path}: tensor "${name}" is ${e.dtype}, expected F32`);
    const [begin, end] = e.dataOffsets;
    const copy = this.bytes.subarray(this.dataStart + begin, this.dataStart + end);
    return new Float32Array(copy.buffer.slice(copy.byteOffset, copy.byteOffset + copy.byteLength));
  }
}
