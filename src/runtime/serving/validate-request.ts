/**
 * Checks a decoded request against the plan's request shape. Every refusal names the field and what
 * would be accepted; nothing is queued until the whole request is valid.
 */

import { MAX_GUIDANCE_SCALE } from '../preflight/bounds.js';
import type { F32Tensor } from './executor.js';
import { f32FromBytes, firstNonFinite } from './f32-codec.js';
import type { ServingLimits, TensorSpec } from './limits.js';
import type { RawRequest, RawTensor } from './raw-request.js';
import { invalidField } from './request-error.js';

export interface ValidRequest {
  readonly batchSize: number;
  readonly tensors: ReadonlyMap<string, F32Tensor>;
  readonly steps: number;
  readonly guidanceScale: number;
  readonly seed: number | null;
  readonly timeoutMs: number;
  /** Requests with equal keys can share one executor run. */
  readonly batchKey: string;
}

const F32_NAMES = new Set(['f32', 'float32']);

function shapeText(dims: readonly (number | string)[]): string {
  return `[${dims.join(', ')}]`;
}

function checkShape(raw: RawTensor, spec: TensorSpec, limits: ServingLimits): number[] {
  const field = `${raw.label}.shape`;
  const expected = shapeText(['B', ...spec.dims]);
  const fix = `${expected} with 1 ≤ B ≤ ${limits.maxBatch} (the plan's ${limits.width}×${limits.height}, maxBatch ${limits.maxBatch})`;
  const shape = raw.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw invalidField(field, 'must be an array of non-negative integers', fix);
  }
  const dims = shape as number[];
  if (dims.length !== spec.dims.length + 1) {
    throw invalidField(field, `has rank ${dims.length}, expected ${spec.dims.length + 1}`, fix);
  }
  const [batch = 0, ...rest] = dims;
  if (batch < 1 || batch > limits.maxBatch) {
    throw invalidField(field, `batch ${batch} is outside 1..${limits.maxBatch}`, fix);
  }
  if (rest.some((d, i) => d !== spec.dims[i])) {
    throw invalidField(field, `is ${shapeText(dims)}`, fix);
  }
  return dims;
}

function checkTensor(raw: RawTensor, spec: TensorSpec, limits: ServingLimits): F32Tensor {
  if (typeof raw.dtype !== 'string' || !F32_NAMES.has(raw.dtype.toLowerCase())) {
    throw invalidField(
      `${raw.label}.dtype`,
      `is ${JSON.stringify(raw.dtype)}`,
      'send "f32" (little-endian float32)',
    );
  }
  const shape = checkShape(raw, spec, limits);
  const field = `${raw.label}.data`;
  if (raw.bytes === null) throw invalidField(field, 'is not valid base64', 'standard base64 with padding');
  const expectedBytes = shape.reduce((a, b) => a * b, 1) * 4;
  if (raw.bytes.byteLength !== expectedBytes) {
    throw invalidField(
      field,
      `holds ${raw.bytes.byteLength} bytes`,
      `${shapeText(shape)} f32 needs exactly ${expectedBytes} bytes`,
    );
  }
  const data = f32FromBytes(raw.bytes);
  const bad = firstNonFinite(data);
  if (bad >= 0) throw invalidField(field, `element ${bad} is ${data[bad]}`, 'every value must be finite');
  return { shape, data };
}

function needed(spec: TensorSpec, guidanceScale: number, limits: ServingLimits): 'yes' | 'no' | 'maybe' {
  if (spec.presence === 'required') return 'yes';
  if (spec.presence === 'optional') return 'maybe';
  return limits.cfgAbove !== null && guidanceScale > limits.cfgAbove ? 'yes' : 'no';
}

function integerIn(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw invalidField(field, `is ${JSON.stringify(value)}`, `an integer from ${min} to ${max}`);
  }
  return value;
}

/**
 * Requests with equal keys can share one executor run: same steps, guidance and tensor names (the shapes
 * past the batch are the plan's). Latents and images requests share runs.
 */
export function batchKeyOf(steps: number, guidanceScale: number, names: Iterable<string>): string {
  return `${steps}|${guidanceScale}|${[...names].sort().join(',')}`;
}

export function validateRequest(raw: RawRequest, limits: ServingLimits): ValidRequest {
  const p = raw.scalarPrefix;
  const { steps: rawSteps, guidanceScale: rawGuidance, seed: rawSeed, timeoutMs: rawTimeout } = raw.scalars;
  const steps =
    rawSteps === undefined
      ? limits.defaultSteps
      : integerIn(`${p}steps`, rawSteps, limits.minSteps, limits.maxSteps);
  let guidanceScale = limits.defaultGuidanceScale;
  if (rawGuidance !== undefined) {
    if (
      typeof rawGuidance !== 'number' ||
      !Number.isFinite(rawGuidance) ||
      rawGuidance < 0 ||
      rawGuidance > MAX_GUIDANCE_SCALE
    ) {
      throw invalidField(
        `${p}guidanceScale`,
        `is ${JSON.stringify(rawGuidance)}`,
        `a number from 0 to ${MAX_GUIDANCE_SCALE}`,
      );
    }
    guidanceScale = rawGuidance;
  }
  if (limits.cfgRequired && limits.cfgAbove !== null && guidanceScale <= limits.cfgAbove) {
    throw invalidField(
      `${p}guidanceScale`,
      `is ${guidanceScale}, but this group runs the two guidance branches in parallel (degrees.cfg = 2)`,
      `a guidance scale > ${limits.cfgAbove} with negative embeddings, or a DiTInference whose plan has cfg 1`,
    );
  }
  const seed = rawSeed === undefined ? null : integerIn(`${p}seed`, rawSeed, 0, Number.MAX_SAFE_INTEGER);
  const timeoutMs =
    rawTimeout === undefined
      ? limits.defaultTimeoutMs
      : integerIn(`${p}timeoutMs`, rawTimeout, 1, limits.maxTimeoutMs);

  const tensors = new Map<string, F32Tensor>();
  let batchSize: number | null = null;
  let batchFrom = '';
  for (const spec of limits.tensors) {
    const given = raw.tensors.get(spec.name);
    const need = needed(spec, guidanceScale, limits);
    const label = p === '' ? spec.field : spec.name;
    if (given === undefined) {
      if (need === 'yes') {
        const why = spec.presence === 'withGuidance' ? ` (guidanceScale ${guidanceScale} runs true CFG)` : '';
        throw invalidField(label, `is missing${why}`, `send ${label} as [B, ${spec.dims.join(', ')}] f32`);
      }
      continue;
    }
    if (need === 'no') {
      throw invalidField(
        label,
        `is only used when guidanceScale > ${limits.cfgAbove}`,
        `drop ${label} or raise guidanceScale`,
      );
    }
    const tensor = checkTensor(given, spec, limits);
    const batch = tensor.shape[0] as number;
    if (batchSize !== null && batch !== batchSize) {
      throw invalidField(
        `${given.label}.shape`,
        `has batch ${batch} but ${batchFrom} has ${batchSize}`,
        'one batch size for every tensor',
      );
    }
    batchSize = batch;
    batchFrom = given.label;
    tensors.set(spec.name, tensor);
  }
  if (batchSize === null) throw invalidField('latents', 'is missing', 'send the initial latents');
  return {
    batchSize,
    tensors,
    steps,
    guidanceScale,
    seed,
    timeoutMs,
    batchKey: batchKeyOf(steps, guidanceScale, tensors.keys()),
  };
}
