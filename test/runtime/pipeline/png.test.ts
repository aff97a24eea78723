/**
 * PNG output: fast-png decodes what we write (size, pixels with every row filter, tEXt), values outside Latin-1 go to iTXt and
 * read back, and the decoder-output → uint8 conversion follows Diffusers' postprocess (float32, numpy's
 * round half to even, clamping).
 */
import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../../src/runtime/native/index.js';
import { toLevel, toRgbImages } from '../../../src/runtime/pipeline/image/pixels.js';
import { encodePng, readPngText } from '../../../src/runtime/pipeline/image/png.js';

describe('PNG encoding', () => {
  const width = 5;
  const height = 3;
  const data = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 37) % 256);

  it('round-trips pixels and Latin-1 metadata through fast-png', () => {
    const text = { prompt: 'a café at night', seed: '42', steps: '4', guidance: '3.5', model: 'tiny-flux' };
    const png = encodePng({ width, height, data }, text);
    const decoded = decode(png);
    expect([decoded.width, decoded.height, decoded.channels, decoded.depth]).toEqual([width, height, 3, 8]);
    expect(Array.from(decoded.data)).toEqual(Array.from(data));
    expect(decoded.text).toEqual(text);
    expect(readPngText(png)).toEqual(text);
  });

  it('puts values outside Latin-1 in iTXt chunks, which read back as UTF-8', () => {
    const text = { prompt: '日本の猫 🐱', seed: '7' };
    const png = encodePng({ width, height, data }, text);
    const decoded = decode(png);
    expect(Array.from(decoded.data)).toEqual(Array.from(data));
    expect(decoded.text).toEqual({ seed: '7' });
    expect(readPngText(png)).toEqual(text);
    expect(Buffer.from(png).includes(Buffer.from('iTXt'))).toBe(true);
  });

  it('round-trips pixels with every row filter and compression level (rows above and to the left)', () => {
    const w = 17;
    const h = 9;
    const pixels = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 97 + (i >> 5) * 13) % 256);
    for (const filter of ['none', 'sub', 'up', 'paeth', 'adaptive'] as const) {
      for (const level of [0, 6, 9]) {
        const decoded = decode(
          encodePng({ width: w, height: h, data: pixels }, { seed: '1' }, { filter, level }),
        );
        expect([decoded.width, decoded.height, decoded.channels], `${filter} ${level}`).toEqual([w, h, 3]);
        expect(Buffer.from(decoded.data).equals(Buffer.from(pixels)), `${filter} ${level}`).toBe(true);
      }
    }
  });

  it('refuses an image whose bytes do not match its size', () => {
    expect(() => encodePng({ width: 2, height: 2, data: new Uint8Array(11) }, {})).toThrow(
      /12 bytes, got 11/,
    );
  });

  it('refuses keywords PNG cannot hold', () => {
    expect(() => encodePng({ width, height, data }, { '': 'x' })).toThrow(/keyword/);
  });
});

describe('decoder output to 8-bit levels', () => {
  it('maps [-1, 1] to [0, 255] as float32 numpy does, rounding halves to even and clamping', () => {
    expect(toLevel(-1)).toBe(0);
    expect(toLevel(1)).toBe(255);
    expect(toLevel(-3)).toBe(0);
    expect(toLevel(7)).toBe(255);
    expect(toLevel(0)).toBe(128); // 0.5·255 = 127.5 → 128 (even)
  });

  it('lays [N, 3, H, W] out as RGB rows', () => {
    const sample = Tensor.of([-1, 1, 0, -1, 1, 1, 1, -1, -1, 1, -1, 1], [1, 3, 2, 2]);
    const [image] = toRgbImages(sample);
    expect(image?.width).toBe(2);
    expect(Array.from(image?.data ?? [])).toEqual([0, 255, 0, 255, 255, 255, 128, 255, 0, 0, 0, 255]);
  });
});
