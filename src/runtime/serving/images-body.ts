/**
 * The body of `POST /v1/images/generations`, in the shape of the OpenAI Images API: `prompt`, `n`,
 * `size` ("WIDTHxHEIGHT"), `response_format` ("b64_json"; this server keeps no files to link to), plus
 * `seed`, `steps`, `guidance_scale`, `negative_prompt` and `timeout_ms`. `model` and `user`, which
 * OpenAI clients send, are accepted and not used (the group serves one model). Types are checked here;
 * values against the pipeline and the plan by the image service.
 */
import type { ImageAsk } from '../pipeline/image-request.js';
import { invalidField, RequestError } from './request-error.js';

export interface ImagesBody {
  ask: ImageAsk;
  /** undefined: the server's default deadline. */
  timeoutMs: number | undefined;
}

type Reader = (field: string, value: unknown) => void;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(field: string, value: unknown): string {
  if (typeof value !== 'string') throw invalidField(field, `is ${JSON.stringify(value)}`, 'a string');
  return value;
}

function integer(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw invalidField(field, `is ${JSON.stringify(value)}`, `an integer from ${min} to ${max}`);
  }
  return value;
}

/** "1024x768" → width 1024, height 768. */
export function parseImageSize(field: string, value: unknown): { width: number; height: number } {
  const m = typeof value === 'string' ? /^(\d{1,5})x(\d{1,5})$/.exec(value) : null;
  if (!m)
    throw invalidField(field, `is ${JSON.stringify(value)}`, '"WIDTHxHEIGHT" in pixels, e.g. "1024x1024"');
  return { width: Number(m[1]), height: Number(m[2]) };
}

export function parseImagesBody(body: Buffer): ImagesBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (cause) {
    throw new RequestError(400, 'invalid_json', `the body is not JSON: ${(cause as Error).message}`, {
      fix: '{ "prompt": "…" }',
      cause,
    });
  }
  if (!isObject(parsed)) {
    throw new RequestError(400, 'invalid_json', 'the body must be a JSON object', {
      fix: '{ "prompt": "…" }',
    });
  }
  const ask: ImageAsk = { prompt: '' };
  let timeoutMs: number | undefined;
  let prompt = false;
  const fields: Record<string, Reader> = {
    prompt: (f, v) => {
      ask.prompt = text(f, v);
      prompt = true;
    },
    negative_prompt: (f, v) => {
      ask.negativePrompt = text(f, v);
    },
    n: (f, v) => {
      ask.n = integer(f, v, 1, Number.MAX_SAFE_INTEGER);
    },
    size: (f, v) => Object.assign(ask, parseImageSize(f, v)),
    response_format: (f, v) => {
      if (v !== 'b64_json') {
        throw invalidField(
          f,
          `is ${JSON.stringify(v)}`,
          '"b64_json": images come back in the answer (no URLs)',
        );
      }
    },
    seed: (f, v) => {
      ask.seed = integer(f, v, 0, Number.MAX_SAFE_INTEGER);
    },
    steps: (f, v) => {
      ask.steps = integer(f, v, 1, Number.MAX_SAFE_INTEGER);
    },
    guidance_scale: (f, v) => {
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw invalidField(f, `is ${JSON.stringify(v)}`, 'a number');
      ask.guidanceScale = v;
    },
    timeout_ms: (f, v) => {
      timeoutMs = integer(f, v, 1, Number.MAX_SAFE_INTEGER);
    },
    model: (f, v) => void text(f, v),
    user: (f, v) => void text(f, v),
  };
  for (const [key, value] of Object.entries(parsed)) {
    const read = fields[key];
    if (!read)
      throw invalidField(key, 'is not a request field', `accepted fields: ${Object.keys(fields).join(', ')}`);
    // null means "the default", as OpenAI's clients send it.
    if (value !== null) read(key, value);
  }
  if (!prompt) throw invalidField('prompt', 'is missing', 'the text of the image to make');
  return { ask, timeoutMs };
}
