/**
 * PNG files with the generation parameters in text chunks, as image tools record them (prompt, seed,
 * steps, guidance, model): Latin-1 values in `tEXt` chunks, any other value (a prompt in another script,
 * emoji) in an uncompressed `iTXt` chunk (UTF-8). `readPngText` reads both kinds.
 *
 * Written by hand on Node's zlib rather than with a JavaScript PNG library: the image data is the one
 * large part, and Node's native deflate with a row filter writes a 1024×1024 image 1.7× faster than
 * fast-png (JavaScript deflate, no filter) did, in files 42 % smaller — PIL's size at PIL's level, 3.2×
 * faster than PIL (`npm run bench:png`; figures in docs/pipeline.md). The rest of the format is a
 * handful of fixed chunks.
 */
import { constants, crc32, deflateSync } from 'node:zlib';
import type { RgbImage } from './pixels.js';

export type PngText = Record<string, string>;

/** Row filters (PNG §9.2) this writer can apply; `adaptive` picks one per row as libpng does. */
export type PngFilter = 'none' | 'sub' | 'up' | 'paeth' | 'adaptive';

export interface PngOptions {
  /** zlib level 0-9; default 6, the level PIL and libpng save with. */
  level?: number;
  /** Default `up`: see DEFAULT_FILTER. */
  filter?: PngFilter;
}

/**
 * `up` costs one subtraction per byte and, on smooth images such as a VAE's output, compresses about as
 * well as the per-row choice that costs five passes (bench/png.ts prints both).
 */
const DEFAULT_FILTER: PngFilter = 'up';
const DEFAULT_LEVEL = 6;

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
const PNG_SIGNATURE = SIGNATURE.length;
const RGB_BYTES = 3;
const FILTER_CODE: Record<Exclude<PngFilter, 'adaptive'>, number> = { none: 0, sub: 1, up: 2, paeth: 4 };

const isLatin1 = (text: string): boolean => [...text].every((c) => (c.codePointAt(0) ?? 0) <= 0xff);

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(Buffer.from(type, 'latin1'), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function header(width: number, height: number): Uint8Array {
  const data = new Uint8Array(13);
  const view = new DataView(data.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  // bit depth 8, colour type 2 (RGB), deflate, filtering method 0, no interlace.
  data.set([8, 2, 0, 0, 0], 8);
  return chunk('IHDR', data);
}

/** tEXt: keyword \0 Latin-1 text. */
function text(keyword: string, value: string): Uint8Array {
  return chunk(
    'tEXt',
    Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0]), Buffer.from(value, 'latin1')]),
  );
}

/** iTXt, uncompressed, no language tag: keyword \0 0 0 \0 \0 UTF-8 text. */
function itxt(keyword: string, value: string): Uint8Array {
  const body = Buffer.concat([
    Buffer.from(keyword, 'latin1'),
    Buffer.from([0, 0, 0, 0, 0]),
    Buffer.from(value, 'utf8'),
  ]);
  return chunk('iTXt', body);
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

/** One row filtered with `filter` into out[1..], its filter code in out[0]. */
function filterRow(
  filter: Exclude<PngFilter, 'adaptive'>,
  row: Uint8Array,
  above: Uint8Array | null,
  out: Uint8Array,
): void {
  out[0] = FILTER_CODE[filter];
  const n = row.length;
  for (let i = 0; i < n; i++) {
    const x = row[i] as number;
    const a = i >= RGB_BYTES ? (row[i - RGB_BYTES] as number) : 0;
    const b = above ? (above[i] as number) : 0;
    let predicted = 0;
    if (filter === 'sub') predicted = a;
    else if (filter === 'up') predicted = b;
    else if (filter === 'paeth') {
      const c = above && i >= RGB_BYTES ? (above[i - RGB_BYTES] as number) : 0;
      predicted = paeth(a, b, c);
    }
    out[i + 1] = (x - predicted) & 0xff;
  }
}

/** libpng's heuristic: the filter whose output, read as signed bytes, has the least absolute sum. */
function cost(filtered: Uint8Array): number {
  let sum = 0;
  for (let i = 1; i < filtered.length; i++) {
    const v = filtered[i] as number;
    sum += v < 128 ? v : 256 - v;
  }
  return sum;
}

const CANDIDATES = ['none', 'sub', 'up', 'paeth'] as const;

/** The image's rows, each behind its filter code: what IDAT's zlib stream holds. */
function filteredRows(image: RgbImage, filter: PngFilter): Uint8Array {
  const stride = image.width * RGB_BYTES;
  const out = new Uint8Array((stride + 1) * image.height);
  const trial = filter === 'adaptive' ? CANDIDATES.map(() => new Uint8Array(stride + 1)) : [];
  for (let y = 0; y < image.height; y++) {
    const row = image.data.subarray(y * stride, (y + 1) * stride);
    const above = y > 0 ? image.data.subarray((y - 1) * stride, y * stride) : null;
    const target = out.subarray(y * (stride + 1), (y + 1) * (stride + 1));
    if (filter !== 'adaptive') {
      filterRow(filter, row, above, target);
      continue;
    }
    let best = 0;
    let bestCost = Number.POSITIVE_INFINITY;
    for (const [k, name] of CANDIDATES.entries()) {
      const buf = trial[k] as Uint8Array;
      filterRow(name, row, above, buf);
      const c = cost(buf);
      if (c < bestCost) {
        bestCost = c;
        best = k;
      }
    }
    target.set(trial[best] as Uint8Array);
  }
  return out;
}

export function encodePng(image: RgbImage, metadata: PngText, options: PngOptions = {}): Uint8Array {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`a PNG needs a positive integer size, got ${width}x${height}`);
  }
  if (data.length !== width * height * RGB_BYTES) {
    throw new Error(
      `an ${width}x${height} RGB image has ${width * height * RGB_BYTES} bytes, got ${data.length}`,
    );
  }
  const chunks = [SIGNATURE, header(width, height)];
  for (const [key, value] of Object.entries(metadata)) {
    if (!/^[\x20-\x7e]{1,79}$/.test(key))
      throw new Error(`PNG text keyword ${JSON.stringify(key)} must be 1-79 printable ASCII characters`);
    chunks.push(isLatin1(value) ? text(key, value) : itxt(key, value));
  }
  const rows = filteredRows(image, options.filter ?? DEFAULT_FILTER);
  // Z_FILTERED, as libpng uses for filtered rows: files about 8 % smaller than the default strategy's,
  // the size PIL writes (bench/png.ts).
  const idat = deflateSync(rows, { level: options.level ?? DEFAULT_LEVEL, strategy: constants.Z_FILTERED });
  chunks.push(chunk('IDAT', idat));
  chunks.push(chunk('IEND', new Uint8Array(0)));
  return Buffer.concat(chunks);
}

/** The tEXt and uncompressed iTXt chunks of a PNG, by keyword. */
export function readPngText(png: Uint8Array): PngText {
  const out: PngText = {};
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let at = PNG_SIGNATURE;
  while (at + 12 <= png.length) {
    const length = view.getUint32(at);
    const type = Buffer.from(png.subarray(at + 4, at + 8)).toString('latin1');
    const data = png.subarray(at + 8, at + 8 + length);
    if (type === 'tEXt' || type === 'iTXt') {
      const nul = data.indexOf(0);
      const keyword = Buffer.from(data.subarray(0, nul)).toString('latin1');
      if (type === 'tEXt') out[keyword] = Buffer.from(data.subarray(nul + 1)).toString('latin1');
      else if (data[nul + 1] === 0) {
        const languageEnd = data.indexOf(0, nul + 3);
        const translatedEnd = data.indexOf(0, languageEnd + 1);
        out[keyword] = Buffer.from(data.subarray(translatedEnd + 1)).toString('utf8');
      }
    }
    if (type === 'IEND') break;
    at += 12 + length;
  }
  return out;
}
