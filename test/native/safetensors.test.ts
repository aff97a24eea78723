// The safetensors reader: single files, sharded folders, dtype conversion at load, and one clear error
// (naming the file and the reason) for each kind of bad header.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Checkpoint, SafetensorsFile } from '../../src/runtime/native/index.js';
import { f32Bytes, safetensorsBytes, u16Bytes } from './safetensors-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-st-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, bytes: Uint8Array | string): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** A file whose header is `header` verbatim (length prefix computed) followed by `data`. */
function rawFile(name: string, header: string, data: Uint8Array = new Uint8Array()): string {
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(header)));
  return write(name, Buffer.concat([head, Buffer.from(header), data]));
}

describe('SafetensorsFile', () => {
  const path = write(
    'model.safetensors',
    safetensorsBytes(
      [
        { name: 'a.weight', dtype: 'F32', shape: [2, 2], bytes: f32Bytes([1, -2, 3.5, 4]) },
        { name: 'b.bias', dtype: 'BF16', shape: [3], bytes: u16Bytes([0x3f80, 0xc000, 0x3fc0]) },
        { name: 'c.half', dtype: 'F16', shape: [2], bytes: u16Bytes([0x3c00, 0xc500]) },
        { name: 'd.scalar', dtype: 'F32', shape: [], bytes: f32Bytes([9]) },
        { name: 'e.empty', dtype: 'F32', shape: [0, 4], bytes: new Uint8Array() },
        { name: 'f.ids', dtype: 'I64', shape: [1], bytes: new Uint8Array(8) },
      ],
      { format: 'pt' },
    ),
  );

  it('lists tensors and metadata and reads each in its stored dtype or converted', () => {
    const file = SafetensorsFile.open(path);
    expect(file.names()).toEqual(['a.weight', 'b.bias', 'c.half', 'd.scalar', 'e.empty', 'f.ids']);
    expect(file.metadata).toEqual({ format: 'pt' });
    expect(file.info('b.bias')).toEqual({ name: 'b.bias', dtype: 'BF16', shape: [3], file: path });
    const a = file.read('a.weight');
    expect([a.dtype, ...a.shape]).toEqual(['f32', 2, 2]);
    expect(Array.from(a.toFloat32Array())).toEqual([1, -2, 3.5, 4]);
    const b = file.read('b.bias');
    expect(b.dtype).toBe('bf16');
    const b32 = file.read('b.bias', { dtype: 'f32' });
    expect(b32.dtype).toBe('f32');
    expect(Array.from(b32.data())).toEqual([1, -2, 1.5]);
    expect(Array.from(file.read('c.half', { dtype: 'f32' }).data())).toEqual([1, -5]);
    expect(file.read('d.scalar').shape).toEqual([]);
    expect(file.read('e.empty').shape).toEqual([0, 4]);
    expect(() => file.read('f.ids')).toThrow(/model\.safetensors'.*"f\.ids" has dtype I64/);
    expect(() => file.read('missing')).toThrow(/no tensor named "missing"/);
    file.close();
    expect(() => file.read('a.weight')).toThrow(/has been closed/);
  });

  const tensor = (offsets: string, extra = ''): string =>
    `{"t":{"dtype":"F32","shape":[2],"data_offsets":${offsets}${extra}}}`;
  const eight = new Uint8Array(8);

  it.each([
    ['short', () => write('short.safetensors', new Uint8Array(5)), /shorter than the 8-byte header length/],
    [
      'header past end',
      () => write('past.safetensors', Buffer.from([200, 0, 0, 0, 0, 0, 0, 0, 123])),
      /past the end of the file/,
    ],
    [
      'header over 100 MB',
      () =>
        write('huge.safetensors', Buffer.concat([Buffer.from([0, 0, 0, 0, 1, 0, 0, 0]), Buffer.from('{}')])),
      /exceeds the 100 MB limit/,
    ],
    ['not JSON', () => rawFile('json.safetensors', '{"t": nope}'), /invalid JSON header/],
    ['duplicate key', () => rawFile('dup.safetensors', `{"t":1,"t":2}`), /duplicate key "t"/],
    [
      'unknown dtype',
      () => rawFile('dt.safetensors', '{"t":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}'),
      /unknown dtype "F128"/,
    ],
    [
      'negative shape',
      () => rawFile('neg.safetensors', '{"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}', eight),
      /shape\[0\] is not a non-negative integer/,
    ],
    [
      'size mismatch',
      () => rawFile('size.safetensors', '{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', eight),
      /shape × F32 size = 3 × 4 bytes, but data_offsets span 8/,
    ],
    [
      'offset past data',
      () => rawFile('off.safetensors', tensor('[0,16]'), eight),
      /past the data buffer \(8 bytes\)/,
    ],
    ['reversed offsets', () => rawFile('rev.safetensors', tensor('[8,0]'), eight), /begin 8 > end 0/],
    [
      'overlap',
      () =>
        rawFile(
          'overlap.safetensors',
          '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
          eight,
        ),
      /overlaps the previous tensor/,
    ],
    [
      'hole',
      () => rawFile('hole.safetensors', '{"t":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', eight),
      /hole in the data buffer/,
    ],
    [
      'trailing bytes',
      () => rawFile('tail.safetensors', tensor('[0,8]'), new Uint8Array(12)),
      /4 bytes after the last tensor/,
    ],
    [
      'extra field',
      () => rawFile('extra.safetensors', tensor('[0,8]', ',"x":1'), eight),
      /unknown field "x"/,
    ],
    [
      'metadata not strings',
      () => rawFile('meta.safetensors', '{"__metadata__":{"a":1}}'),
      /__metadata__ "a" is not a string/,
    ],
    ['not an object', () => rawFile('array.safetensors', '[1,2]'), /does not start with '\{'/],
  ])('%s → error naming the file and the reason', (_case, make, reason) => {
    const file = make();
    let message = '';
    try {
      SafetensorsFile.open(file);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(`safetensors file '${file}'`);
    expect(message).toMatch(reason);
  });

  it('a header with more entries than any real checkpoint is refused, naming the cap', () => {
    // 100,000 entries is far above any real file (a FLUX shard holds under 800) and still opens.
    const entries = (n: number) =>
      Array.from({ length: n }, (_, i) => `"t${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`);
    const atCap = rawFile('cap.safetensors', `{${entries(100_000).join(',')}}`);
    const opened = SafetensorsFile.open(atCap);
    expect(opened.names().length).toBe(100_000);
    opened.close();
    const over = rawFile('over.safetensors', `{"__metadata__":{},${entries(500_000).join(',')}}`);
    expect(() => SafetensorsFile.open(over)).toThrow(
      /over\.safetensors': header has more than 100000 tensors \(the cap;/,
    );
  });

  it('a missing file names the path and the system reason', () => {
    expect(() => SafetensorsFile.open(join(dir, 'nope.safetensors'))).toThrow(
      /nope\.safetensors': cannot open: No such file/,
    );
  });
});

describe('Checkpoint (sharded folder with an index)', () => {
  const folder = mkdtempSync(join(dir, 'sharded-'));
  writeFileSync(
    join(folder, 'model-00001-of-00002.safetensors'),
    safetensorsBytes([{ name: 'x.weight', dtype: 'F32', shape: [2], bytes: f32Bytes([1, 2]) }]),
  );
  writeFileSync(
    join(folder, 'model-00002-of-00002.safetensors'),
    safetensorsBytes([{ name: 'y.weight', dtype: 'BF16', shape: [1], bytes: u16Bytes([0x4040]) }]),
  );
  const index = {
    metadata: { total_size: 10 },
    weight_map: {
      'x.weight': 'model-00001-of-00002.safetensors',
      'y.weight': 'model-00002-of-00002.safetensors',
    },
  };
  writeFileSync(join(folder, 'model.safetensors.index.json'), JSON.stringify(index));

  it('opens the folder through its index and reads tensors from their shards', () => {
    const ckpt = Checkpoint.open(folder);
    expect(ckpt.names().sort()).toEqual(['x.weight', 'y.weight']);
    expect(ckpt.files()).toHaveLength(2);
    expect(Array.from(ckpt.read('x.weight').toFloat32Array())).toEqual([1, 2]);
    expect(Array.from(ckpt.read('y.weight', { dtype: 'f32' }).data())).toEqual([3]);
    expect(ckpt.info('y.weight').dtype).toBe('BF16');
    ckpt.close();
  });

  it('rejects shard names that leave the folder, and index entries missing from their shard', () => {
    const bad = mkdtempSync(join(dir, 'bad-'));
    writeFileSync(
      join(bad, 'm.safetensors.index.json'),
      JSON.stringify({ weight_map: { a: '../evil.safetensors' } }),
    );
    expect(() => Checkpoint.open(bad)).toThrow(
      /m\.safetensors\.index\.json'.*not a file name in the index's folder/,
    );
    const lying = mkdtempSync(join(dir, 'lying-'));
    writeFileSync(
      join(lying, 'one.safetensors'),
      safetensorsBytes([{ name: 'p', dtype: 'F32', shape: [1], bytes: f32Bytes([1]) }]),
    );
    writeFileSync(
      join(lying, 'm.safetensors.index.json'),
      JSON.stringify({ weight_map: { q: 'one.safetensors' } }),
    );
    expect(() => Checkpoint.open(lying).read('q')).toThrow(
      /maps "q" to 'one\.safetensors', which has no such tensor/,
    );
    writeFileSync(join(lying, 'm.safetensors.index.json'), '{"weight_map": ');
    expect(() => Checkpoint.open(lying)).toThrow(/cannot read as JSON/);
  });
});
