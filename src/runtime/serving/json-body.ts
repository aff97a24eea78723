/**
 * `application/json` requests: tensors as `{ dtype: "f32", shape: [...], data: "<base64 LE f32>" }`
 * under camelCase fields, scalars beside them.
 */
import { decodeBase64 } from './f32-codec.js';
import type { ServingLimits } from './limits.js';
import { type RawRequest, type RawTensor, SCALAR_FIELDS, type ScalarField } from './raw-request.js';
import { invalidField, RequestError } from './request-error.js';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function tensorField(field: string, value: unknown): RawTensor {
  if (!isObject(value)) {
    throw invalidField(field, 'must be an object', '{ "dtype": "f32", "shape": [...], "data": "<base64>" }');
  }
  for (const key of Object.keys(value)) {
    if (!['dtype', 'shape', 'data'].includes(key)) {
      throw invalidField(`${field}.${key}`, 'is not a tensor field', 'use only dtype, shape and data');
    }
  }
  if (typeof value.data !== 'string') {
    throw invalidField(`${field}.data`, 'must be a string', 'base64 of the little-endian f32 values');
  }
  return { label: field, dtype: value.dtype, shape: value.shape, bytes: decodeBase64(value.data) };
}

export function parseJsonBody(body: Buffer, limits: ServingLimits): RawRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (cause) {
    throw new RequestError(400, 'invalid_json', `the body is not JSON: ${(cause as Error).message}`, {
      fix: 'send a JSON object, or a safetensors file as application/octet-stream',
      cause,
    });
  }
  if (!isObject(parsed)) {
    throw new RequestError(400, 'invalid_json', 'the body must be a JSON object', {
      fix: '{ "latents": {...}, "promptEmbeds": {...}, ... }',
    });
  }
  const byField = new Map(limits.tensors.map((spec) => [spec.field, spec]));
  const tensors = new Map<string, RawTensor>();
  const scalars: Record<ScalarField, unknown> = {
    steps: undefined,
    guidanceScale: undefined,
    seed: undefined,
    timeoutMs: undefined,
  };
  for (const [key, value] of Object.entries(parsed)) {
    const spec = byField.get(key);
    if (spec) tensors.set(spec.name, tensorField(key, value));
    else if ((SCALAR_FIELDS as readonly string[]).includes(key)) scalars[key as ScalarField] = value;
    else {
      const accepted = [...byField.keys(), ...SCALAR_FIELDS].join(', ');
      throw invalidField(key, 'is not a request field', `accepted fields: ${accepted}`);
    }
  }
  return { tensors, scalars, scalarPrefix: '' };
}
