/**
 * Decoder output → 8-bit RGB as Diffusers' VaeImageProcessor.postprocess(output_type="pil") computes it:
 * (x / 2 + 0.5) clamped to [0, 1], × 255, rounded half to even (numpy's round), all in float32.
 */
import type { Tensor } from '../../native/index.js';

export interface RgbImage {
  width: number;
  height: number;
  /** Row-major RGB, 3 bytes per pixel. */
  data: Uint8Array;
}

function roundHalfEven(v: number): number {
  const floor = Math.floor(v);
  const fraction = v - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** One 8-bit level of a decoder value in [-1, 1] (clamped outside). */
export function toLevel(x: number): number {
  const f = Math.fround;
  const unit = Math.min(1, Math.max(0, f(f(x / 2) + 0.5)));
  return roundHalfEven(f(unit * 255));
}

/** sample [N, 3, H, W] → N images. */
export function toRgbImages(sample: Tensor): RgbImage[] {
  const [n, c, height, width] = sample.shape as [number, number, number, number];
  if (sample.rank !== 4 || c !== 3)
    throw new Error(`expected a decoded sample [N, 3, H, W], got [${sample.shape.join(', ')}]`);
  const values = sample.toFloat32Array();
  const plane = height * width;
  return Array.from({ length: n }, (_, b) => {
    const data = new Uint8Array(plane * 3);
    for (let ch = 0; ch < 3; ch++) {
      const base = (b * 3 + ch) * plane;
      for (let p = 0; p < plane; p++) data[p * 3 + ch] = toLevel(values[base + p] as number);
    }
    return { width, height, data };
  });
}
