/**
 * What the leader broadcasts to every rank of the group over the world communicator. A message is a
 * fixed-size header (every rank posts the same receive buffer, so its size cannot depend on the content)
 * holding length-prefixed JSON, followed — for a run — by one f32 broadcast per tensor the header lists,
 * in the header's order, with the shapes it gives.
 *
 *  - run: one batch to denoise (steps, guidance, seeds, request id, the DenoiseInputs' tensors);
 *  - heartbeat: sent by an idle leader well within the collective timeout, so waiting ranks do not time
 *    out between requests and a dead peer is noticed while nobody is asking for images;
 *  - shutdown: every rank leaves its loop and closes its communicators.
 */
import type { DenoiseInputs } from '../denoise/inputs.js';
import { Tensor } from '../native/index.js';

/** Room for the JSON of a run header (a handful of tensor shapes and one seed per sample). */
export const HEADER_BYTES = 16 * 1024;
const LENGTH_BYTES = 4;

/** The DenoiseInputs fields that hold tensors, in the order they travel. */
export const INPUT_FIELDS = [
  'latents',
  'imgIds',
  'txtIds',
  'promptEmbeds',
  'pooledPromptEmbeds',
  'negativePromptEmbeds',
  'negativePooledPromptEmbeds',
] as const;
export type InputField = (typeof INPUT_FIELDS)[number];

export interface TensorHeader {
  field: InputField;
  shape: number[];
}

export interface RunMessage {
  kind: 'run';
  family: 'flux' | 'sd3';
  /** The batch's request ids joined with commas (the warm-up's is 'warm-up'), for the ranks' logs. */
  requestId: string;
  steps: number;
  guidanceScale: number;
  seeds: (number | null)[];
  tensors: TensorHeader[];
}

export type GroupMessage = { kind: 'heartbeat' } | { kind: 'shutdown' } | RunMessage;

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
  throw new GroupMessageError(`unknown header ${JSON.stringify(value).slice(0, 200)}`);
}

function isRunMessage(value: unknown): value is RunMessage {
  const m = value as Partial<RunMessage>;
  return (
    (m.family === 'flux' || m.family === 'sd3') &&
    typeof m.requestId === 'string' &&
    Number.isInteger(m.steps) &&
    typeof m.guidanceScale === 'number' &&
    Array.isArray(m.seeds) &&
    Array.isArray(m.tensors) &&
    m.tensors.every(
      (t) =>
        (INPUT_FIELDS as readonly string[]).includes(t.field) &&
        Array.isArray(t.shape) &&
        t.shape.every((d) => Number.isInteger(d) && d >= 0),
    )
  );
}

/** The tensors of a DenoiseInputs, in travel order. */
export function inputTensors(inputs: DenoiseInputs): [InputField, Tensor][] {
  const record = inputs as unknown as Partial<Record<InputField, Tensor>>;
  const out: [InputField, Tensor][] = [];
  for (const field of INPUT_FIELDS) {
    const tensor = record[field];
    if (tensor) out.push([field, tensor]);
  }
  return out;
}

/** DenoiseInputs from the tensors a run message carried. */
export function inputsFromTensors(
  family: 'flux' | 'sd3',
  tensors: ReadonlyMap<InputField, Tensor>,
): DenoiseInputs {
  const need = (field: InputField): Tensor => {
    const t = tensors.get(field);
    if (!t) throw new GroupMessageError(`a ${family} run message has no ${field}`);
    return t;
  };
  if (family === 'flux') {
    return {
      family,
      latents: need('latents'),
      imgIds: need('imgIds'),
      txtIds: need('txtIds'),
      promptEmbeds: need('promptEmbeds'),
      pooledPromptEmbeds: need('pooledPromptEmbeds'),
    };
  }
  const negative = tensors.get('negativePromptEmbeds');
  const negativePooled = tensors.get('negativePooledPromptEmbeds');
  return {
    family,
    latents: need('latents'),
    promptEmbeds: need('promptEmbeds'),
    pooledPromptEmbeds: need('pooledPromptEmbeds'),
    ...(negative ? { negativePromptEmbeds: negative } : {}),
    ...(negativePooled ? { negativePooledPromptEmbeds: negativePooled } : {}),
  };
}

export const elementCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** An f32 tensor over received values. */
export function tensorFrom(values: Float32Array, shape: readonly number[]): Tensor {
  return Tensor.fromArray(values, shape);
}
