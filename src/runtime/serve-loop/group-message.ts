/**
 * What the leader broadcasts to every rank of the group over the world communicator. A message is a
 * fixed-size header (every rank posts the same receive buffer, so its size cannot depend on the content)
 * holding length-prefixed JSON, followed — for a run — by one f32 broadcast per tensor the header lists,
 * in the header's order, with the shapes it gives.
 *
 *  - run: one batch to denoise (family, steps, guidance, seeds, request id, the DenoiseInputs' tensors);
 *  - decode: one request's denoised latents [B, C, h, w] (one tensor) for the VAE ranks to decode
 *    patch-parallel (the images API);
 *  - heartbeat: sent by an idle leader well within the collective timeout, so waiting ranks do not time
 *    out between requests and a dead peer is noticed while nobody is asking for images;
 *  - shutdown: every rank leaves its loop and closes its communicators.
 */
import type { DenoiseInputs } from '../denoise/inputs.js';
import { type FamilyName, isServedFamily } from '../families/index.js';
import { Tensor } from '../native/index.js';

/** Room for the JSON of a run header (a handful of tensor shapes and one seed per sample). */
export const HEADER_BYTES = 16 * 1024;
const LENGTH_BYTES = 4;

/**
 * Where a tensor of DenoiseInputs sits: `latents`, `samples.<name>` or `shared.<name>`. Which names a
 * family uses is the family's; the message only carries them.
 */
export type InputField = string;
const FIELD_PATTERN = /^(latents|(samples|shared)\.[A-Za-z][A-Za-z0-9_]{0,63})$/;

export interface TensorHeader {
  field: InputField;
  shape: number[];
}

export interface RunMessage {
  kind: 'run';
  family: FamilyName;
  /** The batch's request ids joined with commas (the warm-up's is 'warm-up'), for the ranks' logs. */
  requestId: string;
  steps: number;
  guidanceScale: number;
  seeds: (number | null)[];
  tensors: TensorHeader[];
}

export interface DecodeMessage {
  kind: 'decode';
  requestId: string;
  /** The latents' shape; their values follow as one broadcast. */
  shape: number[];
}

export type GroupMessage = { kind: 'heartbeat' } | { kind: 'shutdown' } | RunMessage | DecodeMessage;

export class GroupMessageError extends Error {
  override readonly name = 'GroupMessageError';
}

export function encodeHeader(message: GroupMessage): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(message));
  if (json.length > HEADER_BYTES - LENGTH_BYTES) {
    throw new GroupMessageError(
      `a ${message.kind} header of ${json.length} bytes does not fit ${HEADER_BYTES}`,
    );
  }
  const buf = new Uint8Array(HEADER_BYTES);
  new DataView(buf.buffer).setUint32(0, json.length, true);
  buf.set(json, LENGTH_BYTES);
  return buf;
}

export function decodeHeader(buf: Uint8Array): GroupMessage {
  const length = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(0, true);
  if (length > buf.length - LENGTH_BYTES) throw new GroupMessageError(`header length ${length} is corrupt`);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(buf.subarray(LENGTH_BYTES, LENGTH_BYTES + length)));
  } catch (cause) {
    throw new GroupMessageError('the header is not JSON', { cause });
  }
  const kind = (value as { kind?: unknown } | null)?.kind;
  if (kind === 'heartbeat' || kind === 'shutdown') return { kind };
  if (kind === 'run' && isRunMessage(value)) return value;
  if (kind === 'decode' && isDecodeMessage(value)) return value;
  throw new GroupMessageError(`unknown header ${JSON.stringify(value).slice(0, 200)}`);
}

const isShape = (shape: unknown): shape is number[] =>
  Array.isArray(shape) && shape.every((d) => Number.isInteger(d) && d >= 0);

function isDecodeMessage(value: unknown): value is DecodeMessage {
  const m = value as Partial<DecodeMessage>;
  return typeof m.requestId === 'string' && isShape(m.shape) && m.shape.length === 4;
}

function isRunMessage(value: unknown): value is RunMessage {
  const m = value as Partial<RunMessage>;
  return (
    typeof m.family === 'string' &&
    isServedFamily(m.family) &&
    typeof m.requestId === 'string' &&
    Number.isInteger(m.steps) &&
    typeof m.guidanceScale === 'number' &&
    Array.isArray(m.seeds) &&
    Array.isArray(m.tensors) &&
    m.tensors.every((t) => typeof t.field === 'string' && FIELD_PATTERN.test(t.field) && isShape(t.shape))
  );
}

/** The tensors of a DenoiseInputs, in travel order: latents, per-sample tensors, shared ones. */
export function inputTensors(inputs: DenoiseInputs): [InputField, Tensor][] {
  return [
    ['latents', inputs.latents],
    ...Object.entries(inputs.samples).map(([name, t]): [InputField, Tensor] => [`samples.${name}`, t]),
    ...Object.entries(inputs.shared).map(([name, t]): [InputField, Tensor] => [`shared.${name}`, t]),
  ];
}

/** DenoiseInputs from the tensors a run message carried. */
export function inputsFromTensors(
  family: FamilyName,
  tensors: ReadonlyMap<InputField, Tensor>,
): DenoiseInputs {
  const latents = tensors.get('latents');
  if (!latents) throw new GroupMessageError(`a ${family} run message has no latents`);
  const samples: Record<string, Tensor> = {};
  const shared: Record<string, Tensor> = {};
  for (const [field, tensor] of tensors) {
    const [group, name] = field.split('.', 2) as [string, string | undefined];
    if (name === undefined) continue;
    if (group === 'samples') samples[name] = tensor;
    else if (group === 'shared') shared[name] = tensor;
  }
  return { family, latents, samples, shared };
}

export const elementCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** An f32 tensor over received values. */
export function tensorFrom(values: Float32Array, shape: readonly number[]): Tensor {
  return Tensor.fromArray(values, shape);
}
