/**
 * `POST /v1/images/generations` over HTTP on the leader's server, with the real parts of a one-rank
 * group: the SD3 pipeline fixture's text encoders on the leader, the denoise executor over the
 * one-process denoiser, the VAE. The answer for a pipeline case is the Diffusers pipeline's image (within
 * one level on ≥ 99.9 % of the values); every bad field gets a 400 naming it and runs nothing; the
 * bearer token, the queue (429), deadlines (504) and the request metrics are those of /v1/denoise.
 */
import { decode } from 'fast-png';
import { afterEach, describe, expect, it } from 'vitest';
import { denoise } from '../../../src/runtime/denoise/index.js';
import { loadTransformer } from '../../../src/runtime/model-loader/index.js';
import { readPngText } from '../../../src/runtime/pipeline/image/png.js';
import { ImagePipeline } from '../../../src/runtime/pipeline/image-pipeline.js';
import { readSchedulerConfig } from '../../../src/runtime/scheduler/scheduler.js';
import {
  DenoiseExecutor,
  type GenerationExecutor,
  type GenerationRequest,
  type GenerationResult,
  IMAGES_PATH,
  PipelineImages,
  type ServingLimits,
  servingLimitsFromPlan,
} from '../../../src/runtime/serving/index.js';
import type { Plan } from '../../../src/shared/plan/index.js';
import { pixelAgreement } from '../../support/image-compare.js';
import { pipelineCases, pipelineFixture } from '../../support/pipeline-fixtures.js';
import { SafetensorsLite } from '../../support/safetensors-lite.js';
import {
  errorOf,
  eventually,
  InstantExecutor,
  metricsText,
  type Started,
  sample,
  startServer,
  tinyPlan,
} from './harness.js';

const FOLDER = pipelineFixture('pipelines/sd3');
const CASE = pipelineCases().find((c) => c.pipeline === 'sd3' && c.case === 'cat-64');
if (!CASE) throw new Error('the sd3 cat-64 pipeline case is missing from pipelines.json');
const MAX_BATCH = 2;

/** The plan a group for the SD3 fixture would run: 64×64, maxBatch 2, CLIP 77 + T5 256 text tokens. */
function sd3Plan(): Plan {
  const plan = tinyPlan('sd3', MAX_BATCH);
  return {
    ...plan,
    model: { ...plan.model, layers: 2, heads: 2, headDim: 8, textTokens: 77 + 256 },
    request: { height: 64, width: 64, steps: 4, maxBatch: MAX_BATCH, guidanceScale: 5 },
  };
}

const loaded = loadTransformer(FOLDER);
const pipeline = ImagePipeline.open(FOLDER);
const plan = sd3Plan();
const limits: ServingLimits = servingLimitsFromPlan(plan, loaded.arch.inputDims);
const images = new PipelineImages(pipeline, limits, plan.model.textTokens, 'sd3-fixture');

/** The executor a one-rank group runs, with a gate the test closes to hold runs. */
class GatedExecutor implements GenerationExecutor {
  readonly maxBatch = MAX_BATCH;
  runs = 0;
  private opened: Promise<void> = Promise.resolve();
  private open: () => void = () => undefined;
  private readonly inner = new DenoiseExecutor({
    family: loaded.arch.family,
    latentHeight: 8,
    latentWidth: 8,
    maxBatch: MAX_BATCH,
    denoise: async (inputs, options) =>
      (await denoise(loaded, inputs, { ...options, scheduler: readSchedulerConfig(FOLDER) })).latents,
    decode: (latents) => pipeline.decode(pipeline.imageLatents(latents, 64, 64)),
  });

  hold(): void {
    this.opened = new Promise((resolve) => {
      this.open = resolve;
    });
  }

  release(): void {
    this.open();
  }

  async run(batch: readonly GenerationRequest[], signal: AbortSignal): Promise<GenerationResult[]> {
    this.runs += 1;
    await this.opened;
    return this.inner.run(batch, signal);
  }
}

let current: Started | undefined;
let executor: GatedExecutor;
afterEach(async () => {
  executor?.release();
  await current?.close();
  current = undefined;
});

async function start(options: { queueSize?: number; authToken?: string } = {}): Promise<string> {
  executor = new GatedExecutor();
  current = await startServer(executor, { ...options, limits, images });
  return current.base;
}

interface ImagesAnswer {
  status: number;
  headers: Headers;
  json: { created?: number; data?: { b64_json: string }[]; error?: unknown };
}

async function postImages(
  base: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<ImagesAnswer> {
  const res = await fetch(`${base}${IMAGES_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text === '' ? {} : JSON.parse(text) };
}

const pngOf = (b64: string) => Buffer.from(b64, 'base64');

describe('POST /v1/images/generations', () => {
  it("answers the Diffusers pipeline's image for the same prompt, negative prompt, steps, guidance and seed", async () => {
    const base = await start();
    const before = Math.floor(Date.now() / 1000);
    const answer = await postImages(base, {
      model: 'sd3',
      prompt: CASE.prompt,
      negative_prompt: CASE.negative_prompt,
      n: 1,
      size: `${CASE.width}x${CASE.height}`,
      response_format: 'b64_json',
      steps: CASE.steps,
      guidance_scale: CASE.guidance_scale,
      seed: CASE.seed,
    });
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
    expect(answer.json.created).toBeGreaterThanOrEqual(before);
    expect(answer.json.data).toHaveLength(1);
    const png = pngOf(answer.json.data?.[0]?.b64_json ?? '');
    const image = decode(png);
    expect([image.width, image.height, image.channels]).toEqual([CASE.width, CASE.height, 3]);
    expect(readPngText(png)).toMatchObject({
      prompt: CASE.prompt,
      negative_prompt: CASE.negative_prompt,
      seed: String(CASE.seed),
      steps: String(CASE.steps),
      model: 'sd3-fixture',
    });
    const golden = new SafetensorsLite(pipelineFixture(`pipelines/${CASE.file}`)).f32('image');
    const agreement = pixelAgreement(image.data, golden);
    expect(agreement.share, JSON.stringify(agreement)).toBeGreaterThanOrEqual(0.999);
    expect(answer.headers.get('x-tessera-seed')).toBe(String(CASE.seed));
  });

  it('makes n images with the plan defaults and a drawn seed, which the answer and every PNG report', async () => {
    const base = await start();
    const answer = await postImages(base, { prompt: 'two lighthouses', n: 2 });
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
    expect(answer.json.data).toHaveLength(2);
    const seed = answer.headers.get('x-tessera-seed');
    expect(seed).toMatch(/^\d+$/);
    for (const item of answer.json.data ?? []) {
      const png = pngOf(item.b64_json);
      expect([decode(png).width, decode(png).height]).toEqual([64, 64]);
      expect(readPngText(png)).toMatchObject({ seed, steps: '4', guidance: '5', size: '64x64' });
    }
  });

  const refusals: Array<[string, unknown, string | undefined]> = [
    ['no prompt', { n: 1 }, 'prompt'],
    ['an empty prompt', { prompt: '   ' }, 'prompt'],
    ['a prompt over 4000 characters', { prompt: 'x'.repeat(4001) }, 'prompt'],
    ['a prompt that is not a string', { prompt: 7 }, 'prompt'],
    ['n over the plan batch', { prompt: 'x', n: MAX_BATCH + 1 }, 'n'],
    ['n of 0', { prompt: 'x', n: 0 }, 'n'],
    ['a size that is not WxH', { prompt: 'x', size: 'large' }, 'size'],
    ['a size other than the plan size', { prompt: 'x', size: '128x128' }, 'size'],
    ['response_format url', { prompt: 'x', response_format: 'url' }, 'response_format'],
    ['steps out of range', { prompt: 'x', steps: 101 }, 'steps'],
    ['a guidance scale that is not a number', { prompt: 'x', guidance_scale: 'high' }, 'guidance_scale'],
    ['a guidance scale over 100', { prompt: 'x', guidance_scale: 1000 }, 'guidance_scale'],
    ['a negative seed', { prompt: 'x', seed: -1 }, 'seed'],
    ['a negative prompt that is not a string', { prompt: 'x', negative_prompt: ['a'] }, 'negative_prompt'],
    ['a deadline over the limit', { prompt: 'x', timeout_ms: 10_000_000 }, 'timeout_ms'],
    ['an unknown field', { prompt: 'x', quality: 'hd' }, 'quality'],
    ['a body that is not JSON', 'prompt=x', undefined],
    ['a JSON array', '[]', undefined],
  ];
  it('refuses each bad field with 400 naming it, runs nothing, and counts them', async () => {
    const base = await start();
    for (const [what, body, field] of refusals) {
      const answer = await postImages(base, body);
      expect(answer.status, what).toBe(400);
      const error = errorOf(answer.json as Record<string, unknown>);
      expect(error.field, what).toBe(field);
      if (field) expect(error.fix, what).toBeTruthy();
    }
    expect(executor.runs).toBe(0);
    const metrics = await metricsText(base);
    expect(sample(metrics, 'tessera_serving_requests_total{code="400"}')).toBe(refusals.length);
    expect(sample(metrics, 'tessera_serving_queue_depth')).toBe(0);
  });

  it('refuses a body that is not JSON by its content type with 415', async () => {
    const base = await start();
    const res = await fetch(`${base}${IMAGES_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'a cat',
    });
    expect(res.status).toBe(415);
    expect(errorOf((await res.json()) as Record<string, unknown>).field).toBe('content-type');
  });

  it('needs the bearer token when one is set (401 before anything is read)', async () => {
    const base = await start({ authToken: 's3cret' });
    const none = await postImages(base, { prompt: 'x' });
    const wrong = await postImages(base, { prompt: 'x' }, { authorization: 'Bearer nope' });
    expect([none.status, wrong.status]).toEqual([401, 401]);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    const right = await postImages(base, { prompt: 'x', steps: 1 }, { authorization: 'Bearer s3cret' });
    expect(right.status).toBe(200);
    expect(executor.runs).toBe(1);
  });

  it('queues behind a running batch and answers 429 with Retry-After when the queue is full', async () => {
    const base = await start({ queueSize: 1 });
    executor.hold();
    const first = postImages(base, { prompt: 'first', steps: 1 });
    await eventually(() => executor.runs === 1, 'the first run');
    const second = postImages(base, { prompt: 'second', steps: 2 });
    await eventually(
      async () => sample(await metricsText(base), 'tessera_serving_queue_depth') === 1,
      'one queued',
    );
    const refused = await postImages(base, { prompt: 'third', steps: 1 });
    expect(refused.status).toBe(429);
    expect(errorOf(refused.json as Record<string, unknown>).code).toBe('queue_full');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    executor.release();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    expect(executor.runs).toBe(2);
  });

  it('answers 504 when timeout_ms passes while the request waits', async () => {
    const base = await start();
    executor.hold();
    const answer = await postImages(base, { prompt: 'late', timeout_ms: 300 });
    expect(answer.status).toBe(504);
    expect(errorOf(answer.json as Record<string, unknown>).code).toBe('deadline_exceeded');
    expect(sample(await metricsText(base), 'tessera_serving_requests_total{code="504"}')).toBe(1);
  });
});

describe('a group whose model folder has no pipeline', () => {
  it('answers 404 on the images route, saying to use /v1/denoise', async () => {
    current = await startServer(new InstantExecutor());
    const answer = await postImages(current.base, { prompt: 'x' });
    expect(answer.status).toBe(404);
    const error = errorOf(answer.json as Record<string, unknown>);
    expect(error.code).toBe('no_pipeline');
    expect(error.fix).toMatch(/\/v1\/denoise/);
  });
});
