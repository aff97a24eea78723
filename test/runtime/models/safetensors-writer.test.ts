/** The safetensors writer against the native (validating) reader: layout, dtypes, metadata, views. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SafetensorsFile, Tensor } from '../../../src/runtime/native/index.js';
import {
  safetensorsBytes,
  writeSafetensors,
  writeSafetensorsStreamed,
} from '../../../src/runtime/native/safetensors-writer.js';

const work = mkdtempSync(join(tmpdir(), 'tessera-writer-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('writeSafetensors', () => {
  it('round-trips f32, bf16 and strided views through the native reader', () => {
    const a = Tensor.of([1, -2, 3.5, 4, 5, 6], [2, 3]);
    const transposed = a.transpose(0, 1); // a strided view: written in logical order
    const half = Tensor.fromArray(Uint16Array.from([0x3f80, 0xc000]), [2], 'bf16');
    const path = join(work, 'round.safetensors');
    writeSafetensors(
      path,
      new Map([
        ['a', a],
        ['a_t', transposed],
        ['half', half],
      ]),
      { format: 'pt' },
    );
    const file = SafetensorsFile.open(path);
    expect(file.names().sort()).toEqual(['a', 'a_t', 'half']);
    expect(file.metadata).toEqual({ format: 'pt' });
    expect(file.info('half').dtype).toBe('BF16');
    expect(Array.from(file.read('a').toFloat32Array())).toEqual([1, -2, 3.5, 4, 5, 6]);
    expect(file.read('a_t').shape).toEqual([3, 2]);
    expect(Array.from(file.read('a_t').toFloat32Array())).toEqual([1, 4, -2, 5, 3.5, 6]);
    expect(Array.from(file.read('half', { dtype: 'f32' }).toFloat32Array())).toEqual([1, -2]);
    file.close();
  });

  it('pads the header to 8 bytes with spaces and lays data out contiguously in order', () => {
    const bytes = safetensorsBytes(
      new Map([
        ['x', Tensor.of([1, 2, 3], [3])],
        ['y', Tensor.of([4], [1])],
      ]),
    );
    const headerLength = Number(bytes.readBigUInt64LE(0));
    expect((8 + headerLength) % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<
      string,
      { data_offsets: number[] }
    >;
    expect(header.x?.data_offsets).toEqual([0, 12]);
    expect(header.y?.data_offsets).toEqual([12, 16]);
    expect(bytes.length).toBe(8 + headerLength + 16);
  });

  it('rejects a reserved tensor name before writing anything', () => {
    const path = join(work, 'bad.safetensors');
    expect(() => writeSafetensors(path, new Map([['__metadata__', Tensor.of([1], [1])]]))).toThrow(
      /reserved/,
    );
    expect(() => readFileSync(path)).toThrow();
  });

  it('streamed, tensor by tensor: the same bytes; a tensor of the wrong size leaves no file', () => {
    const x = Tensor.of([1, 2, 3, 4, 5, 6], [2, 3]);
    const h = Tensor.fromArray(Uint16Array.from([0x3f80, 0xc000]), [2], 'bf16');
    const bytes = (t: Tensor) => {
      const d = t.data();
      return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    };
    const entries = [
      { name: 'x', dtype: 'f32', shape: [2, 3] },
      { name: 'h', dtype: 'bf16', shape: [2] },
    ] as const;
    const path = join(work, 'streamed.safetensors');
    writeSafetensorsStreamed(path, entries, (_, i) => bytes(i === 0 ? x : h));
    expect(readFileSync(path)).toEqual(
      safetensorsBytes(
        new Map([
          ['x', x],
          ['h', h],
        ]),
      ),
    );

    const short = join(work, 'short.safetensors');
    expect(() => writeSafetensorsStreamed(short, entries, () => bytes(h))).toThrow(
      /tensor "x": 4 bytes, its entry needs 24/,
    );
    expect(existsSync(short)).toBe(false);
    expect(readdirSync(work).filter((f) => f.includes('.tmp'))).toEqual([]);
  });
});
