/**
 * `application/octet-stream` requests and responses: a safetensors file (8-byte little-endian header
 * length, JSON header, then the tensor bytes), as `tessera denoise --inputs` reads and `-o` writes.
 * Scalars travel in the query string.
 */

import type { F32Tensor } from './executor.js';
import { bytesFromF32 } from './f32-codec.js';
import type { ServingLimits } from './limits.js';
import { type RawRequest, type RawTensor, SCALAR_FIELDS, type ScalarField } from './raw-request.js';
import { invalidField, RequestError } from './request-error.js';

const HEADER_LENGTH_BYTES = 8;
const METADATA_KEY = '__metadata__';

function malformed(message: string, cause?: unknown): RequestError {
  return new RequestError(400, 'invalid_safetensors', `the body is not a safetensors file: ${message}`, {
    fix: 'send a safetensors file (header length, JSON header, data) or a JSON body',
    cause,
  });
}

function readHeader(body: Buffer): { header: Record<string, unknown>; data: Buffer } {
  if (body.length < HEADER_LENGTH_BYTES)
    throw malformed(`${body.length} bytes is shorter than the header length`);
  const length = body.readBigUInt64LE(0);
  if (length > BigInt(body.length - HEADER_LENGTH_BYTES)) {
    throw malformed(`the header claims ${length} bytes but only ${body.length - HEADER_LENGTH_BYTES} follow`);
  }
  const end = HEADER_LENGTH_BYTES + Number(length);
  let header: unknown;
  try {
    header = JSON.parse(body.subarray(HEADER_LENGTH_BYTES, end).toString('utf8'));
  } catch (cause) {
    throw malformed(`the header is not JSON (${(cause as Error).message})`, cause);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw malformed('the header is not a JSON object');
  }
  return { header: header as Record<string, unknown>, data: body.subarray(end) };
}

function tensorBytes(name: string, entry: unknown, data: Buffer): RawTensor {
  if (typeof entry !== 'object' || entry === null) throw malformed(`entry ${name} is not an object`);
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
    offsets[1] < offsets[0] ||
    offsets[1] > data.length
  ) {
    throw malformed(`${name}.data_offsets must be [begin, end] inside the ${data.length} data bytes`);
  }
  return { label: name, dtype, shape, bytes: data.subarray(offsets[0], offsets[1]) };
}

/**
 * Query values are strings. Plain decimal ones are handed on as numbers so one validator serves both
 * formats; anything else (0x10, 1e1, +4, " 4", which Number() would read) stays a string and is refused
 * there, naming the field.
 */
const DECIMAL_INTEGER = /^(0|[1-9][0-9]*)$/;
const DECIMAL = /^(0|[1-9][0-9]*)(\.[0-9]+)?$/;
const QUERY_SYNTAX: Readonly<Record<ScalarField, RegExp>> = {
  steps: DECIMAL_INTEGER,
  seed: DECIMAL_INTEGER,
  timeoutMs: DECIMAL_INTEGER,
  guidanceScale: DECIMAL,
};

function queryScalar(query: URLSearchParams, field: ScalarField): unknown {
  const values = query.getAll(field);
  if (values.length > 1) {
    // Which one would win differs between servers and proxies; refuse rather than guess.
    throw invalidField(`query.${field}`, `is given ${values.length} times`, 'give each parameter once');
  }
  const [value] = values;
  if (value === undefined) return undefined;
  return QUERY_SYNTAX[field].test(value) ? Number(value) : value;
}

export function parseSafetensorsBody(
  body: Buffer,
  query: URLSearchParams,
  limits: ServingLimits,
): RawRequest {
  for (const key of query.keys()) {
    if (!(SCALAR_FIELDS as readonly string[]).includes(key)) {
      throw invalidField(
        `query.${key}`,
        'is not a request parameter',
        `accepted: ${SCALAR_FIELDS.join(', ')}`,
      );
    }
  }
  const { header, data } = readHeader(body);
  const known = new Set(limits.tensors.map((spec) => spec.name));
  const tensors = new Map<string, RawTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === METADATA_KEY || limits.ignoredTensors.includes(name)) continue;
    if (!known.has(name)) {
      throw invalidField(name, 'is not an input tensor', `tensors read: ${[...known].join(', ')}`);
    }
    tensors.set(name, tensorBytes(name, entry, data));
  }
  const scalars = Object.fromEntries(SCALAR_FIELDS.map((f) => [f, queryScalar(query, f)])) as Record<
    ScalarField,
    unknown
  >;
  return { tensors, scalars, scalarPrefix: 'query.' };
}

/** One-tensor safetensors file; metadata values must be strings (the format's rule). */
export function encodeSafetensors(
  name: string,
  tensor: F32Tensor,
  metadata: Readonly<Record<string, string>>,
): Buffer {
  const bytes = bytesFromF32(tensor.data);
  const header = {
    [METADATA_KEY]: metadata,
    [name]: { dtype: 'F32', shape: tensor.shape, data_offsets: [0, bytes.length] },
  };
  let json = JSON.stringify(header);
  // Pad so the data starts 8-byte aligned, which readers that map the file rely on.
  json += ' '.repeat((8 - ((HEADER_LENGTH_BYTES + Buffer.byteLength(json)) % 8)) % 8);
  const prefix = Buffer.alloc(HEADER_LENGTH_BYTES);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([prefix, Buffer.from(json, 'utf8'), bytes]);
}
