/** Paths and typed views of the goldens under test/fixtures/reference (written by tools/reference). */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REFERENCE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'reference');

export interface ReferenceCase {
  file: string;
  kind: 'forward' | 'denoise';
  case: string;
  inputs: Record<string, number[]>;
  outputs: Record<string, number[]>;
  tolerance: { atol: number; rtol: number };
  mu?: number | null;
  steps?: number;
  guidance_scale?: number;
  sigmas?: number[];
  timesteps?: number[];
}

export interface ReferenceCheckpoint {
  name: string;
  family: 'flux' | 'sd3';
  checkpoint: string;
  weights_dtype: 'float32' | 'bfloat16';
  sharded: boolean;
  config: Record<string, unknown>;
  scheduler: Record<string, unknown>;
  tensor_count: number;
  cases: ReferenceCase[];
}

export interface ReferenceManifest {
  versions: Record<string, string>;
  checkpoints: ReferenceCheckpoint[];
}

export interface SigmaTable {
  name: string;
  config: Record<string, unknown>;
  num_inference_steps: number;
  image_seq_len: number | null;
  mu: number | null;
  sigmas_in: number[] | null;
  sigmas: number[];
  timesteps: number[];
  sigma_min: number;
  sigma_max: number;
}

function readJson<T>(relative: string): T {
  return JSON.parse(readFileSync(join(REFERENCE_DIR, relative), 'utf8')) as T;
}

export const referenceManifest = (): ReferenceManifest => readJson<ReferenceManifest>('manifest.json');
export const sigmaTables = (): SigmaTable[] => readJson<{ tables: SigmaTable[] }>('sigmas.json').tables;
export const diffusersDefaults = (): Record<string, Record<string, unknown>> => readJson('defaults.json');

export function referenceCheckpoint(name: string): ReferenceCheckpoint {
  const found = referenceManifest().checkpoints.find((c) => c.name === name);
  if (!found) throw new Error(`no reference checkpoint "${name}" in manifest.json`);
  return found;
}

export const checkpointDir = (name: string): string => join(REFERENCE_DIR, name, 'checkpoint');
