/**
 * PNG files with the generation parameters in text chunks, as image tools record them (prompt, seed,
 * steps, guidance, model). fast-png encodes the image and the Latin-1 `tEXt` chunks; a value that is not
 * Latin-1 (a prompt in another script, emoji) goes in an `iTXt` chunk (UTF-8), which the PNG format
 * defines for that and fast-png does not write, so it is added here. `readPngText` reads both kinds.
 */
import { crc32 } from 'node:zlib';
import { encode } from 'fast-png';
import type { RgbImage } from './pixels.js';

export type PngText = Record<string, string>;

const isLatin1 = (text: string): boolean => [...text].every((c) => (c.codePointAt(0) ?? 0) <= 0xff);
const PNG_SIGNATURE = 8;

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(Buffer.from(type, 'latin1'), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** iTXt, uncompressed, no language tag: keyword \0 0 0 \0 \0 UTF-8 text. */
function itxt(keyword: string, text: string): Uint8Array {
  const body = Buffer.concat([
    Buffer.from(keyword, 'latin1'),
    Buffer.from([0, 0, 0, 0, 0]),
    Buffer.from(text, 'utf8'),
  ]);
  return chunk('iTXt', body);
}

export function encodePng(image: RgbImage, text: PngText): Uint8Array {
  const latin1: PngText = {};
  const unicode: [string, string][] = [];
  for (const [key, value] of Object.entries(text)) {
    if (!/^[\x20-\x7e]{1,79}$/.test(key))
      throw new Error(`PNG text keyword ${JSON.stringify(key)} must be 1-79 printable ASCII characters`);
    if (isLatin1(value)) latin1[key] = value;
    else unicode.push([key, value]);
  }
  const png = encode({
    width: image.width,
    height: image.height,
    data: image.data,
    channels: 3,
    depth: 8,
    text: latin1,
  });
  if (unicode.length === 0) return png;
  // IEND is the last 12 bytes; the iTXt chunks go just before it.
  const iend = png.length - 12;
  return Buffer.concat([png.subarray(0, iend), ...unicode.map(([k, v]) => itxt(k, v)), png.subarray(iend)]);
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
