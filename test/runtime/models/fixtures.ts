/**
 * The committed Diffusers goldens (test/fixtures/reference, written by tools/reference/make_fixtures.py)
 * and the error measure the acceptance criteria use.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SafetensorsFile, type Tensor } from '../../../src/runtime/native/index.js';

export const REFERENCE_DIR = resolve(import.meta.dirname, '../../fixtures/reference');

export interface ReferenceCase {
  file: string;
  kind: 'forward' | 'denoise';
  case: string;
  steps?: number;
  guidance_scale?: number;
  mu?: number | null;
  sigmas?: number[];
  timesteps?: number[];
  height_px?: number;
  width_px?: number;
}

export interface ReferenceCheckpoint {
  name: string;
  family: 'flux' | 'sd3';
  checkpoint: string;
  weights_dtype: string;
  sharded: boolean;
  tensor_count: number;
  config: Record<string, unknown>;
  cases: ReferenceCase[];
}

export function referenceCheckpoints(): ReferenceCheckpoint[] {
  const manifest = JSON.parse(readFileSync(join(REFERENCE_DIR, 'manifest.json'), 'utf8')) as {
    checkpoints: ReferenceCheckpoint[];
  };
  return manifest.checkpoints;
}

export const checkpointDir = (c: ReferenceCheckpoint): string => join(REFERENCE_DIR, c.checkpoint);

/** Every tensor of a case file, as f32. */
export function readCase(file: string): Map<string, Tensor> {
  const st = SafetensorsFile.open(join(REFERENCE_DIR, file));
  try {
    return new Map(st.names().map((n) => [n, st.read(n, { dtype: 'f32' })]));
  } finally {
    st.close();
  }
}

export function need(tensors: Map<string, Tensor>, name: string): Tensor {
  const t = tensors.get(name);
  if (!t) throw new Error(`fixture has no tensor "${name}"`);
  return t;
}

/**
 * Max relative error as the issue defines it: max|a − b| / max|b| over the whole tensor (b = Diffusers).
 * Shapes must match exactly.
 */
export function maxRelativeError(actual: Tensor, expected: Tensor): number {
  if (actual.shape.join(',') !== expected.shape.join(',')) {
    throw new Error(
      `shape [${actual.shape.join(', ')}] differs from the golden's [${expected.shape.join(', ')}]`,
    );
  }
  const a = actual.toFloat32Array();
  const b = expected.toFloat32Array();
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    diff = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(diff, d);
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  if (scale === 0) throw new Error('golden tensor is all zeros: the relative error is undefined');
  return diff / scale;
}
