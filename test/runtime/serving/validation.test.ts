import { afterEach, describe, expect, it } from 'vitest';
import { maxBodyBytes, servingLimitsFromPlan } from '../../../src/runtime/serving/index.js';
import {
  decodeF32,
  fluxBody,
  InstantExecutor,
  metricsText,
  postJson,
  type Started,
  sample,
  startServer,
  TINY_DIMS,
  tensor,
  tinyLimits,
  tinyPlan,
} from './harness.js';

let current: Started | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

async function start(family: 'flux' | 'sd3' = 'flux') {
  const executor = new InstantExecutor(4);
  current = await startServer(executor, { limits: tinyLimits(family, 4) });
  return { executor, base: current.base };
}

function errorOf(json: Record<string, unknown>): {
  code: string;
  field?: string;
  fix?: string;
  message: string;
} {
  return json.error as { code: string; field?: string; fix?: string; message: string };
}

describe('request validation', () => {
  it('answers a valid JSON request with the executor latents, timing and request id', async () => {
    const { base } = await start();
    const res = await postJson(base, fluxBody(2, 1), { 'x-request-id': 'req-abc' });
    expect(res.status).toBe(200);
    expect(res.json.id).toBe('req-abc');
    expect(res.headers.get('x-request-id')).toBe('req-abc');
    const latents = res.json.latents as { dtype: string; shape: number[]; data: string };
    expect(latents.shape).toEqual([2, 16, 8]);
    const values = decodeF32(latents.data);
    expect(values[5]).toBeCloseTo(2 * (1 + 5 / 1000), 5);
    const timing = res.json.timing as { queueMs: number; runMs: number };
    expect(timing.queueMs).toBeGreaterThanOrEqual(0);
    expect(timing.runMs).toBeGreaterThanOrEqual(0);
  });

  it.each([
    ['missing prompt', { promptEmbeds: undefined }, 'promptEmbeds', 'missing'],
    ['wrong token count', { latents: tensor([1, 15, 8]) }, 'latents.shape', '[B, 16, 8]'],
    ['wrong rank', { pooledPromptEmbeds: tensor([4]) }, 'pooledPromptEmbeds.shape', '[B, 4]'],
    ['batch above maxBatch', { latents: tensor([5, 16, 8]) }, 'latents.shape', '1 ≤ B ≤ 4'],
    ['dtype', { latents: { ...tensor([1, 16, 8]), dtype: 'bf16' } }, 'latents.dtype', 'f32'],
    ['bad base64', { latents: { ...tensor([1, 16, 8]), data: 'a$b=' } }, 'latents.data', 'base64'],
    [
      'byte length',
      { latents: { ...tensor([1, 16, 8]), data: Buffer.alloc(12).toString('base64') } },
      'latents.data',
      '512 bytes',
    ],
    ['NaN', { latents: tensor([1, 16, 8], (i) => (i === 3 ? Number.NaN : 0)) }, 'latents.data', 'finite'],
    ['steps zero', { steps: 0 }, 'steps', '1 to 100'],
    ['steps fraction', { steps: 2.5 }, 'steps', '1 to 100'],
    ['steps too many', { steps: 101 }, 'steps', '1 to 100'],
    ['negative guidance', { guidanceScale: -1 }, 'guidanceScale', 'from 0 to 100'],
    ['guidance text', { guidanceScale: '3' }, 'guidanceScale', 'from 0 to 100'],
    ['seed', { seed: -4 }, 'seed', 'integer'],
    ['timeout', { timeoutMs: 0 }, 'timeoutMs', 'integer'],
    ['unknown field', { negativePromptEmbeds: tensor([1, 4, 8]) }, 'negativePromptEmbeds', 'accepted fields'],
    ['mixed batch', { promptEmbeds: tensor([2, 4, 8]) }, 'promptEmbeds.shape', 'one batch size'],
  ])('refuses %s with 400 naming the field', async (_name, change, field, fixPart) => {
    const { base, executor } = await start();
    const res = await postJson(base, { ...fluxBody(1), ...change });
    expect(res.status).toBe(400);
    const error = errorOf(res.json);
    expect(error.field).toBe(field);
    expect(`${error.message} ${error.fix}`).toContain(fixPart);
    // A refused request never reached the executor nor the queue.
    expect(executor.batches).toHaveLength(0);
    expect(sample(await metricsText(base), 'tessera_serving_queue_depth')).toBe(0);
  });

  it('requires negative embeddings for SD3 only when guidance runs true CFG', async () => {
    const { base } = await start('sd3');
    const sd3 = {
      latents: tensor([1, 8, 8, 8]),
      promptEmbeds: tensor([1, 4, 8]),
      pooledPromptEmbeds: tensor([1, 4]),
    };
    const missing = await postJson(base, { ...sd3, guidanceScale: 7 });
    expect(missing.status).toBe(400);
    expect(errorOf(missing.json).field).toBe('negativePromptEmbeds');
    expect(errorOf(missing.json).message).toContain('true CFG');
    const unguided = await postJson(base, { ...sd3, guidanceScale: 1 });
    expect(unguided.status).toBe(200);
    const extra = await postJson(base, { ...sd3, guidanceScale: 1, negativePromptEmbeds: tensor([1, 4, 8]) });
    expect(extra.status).toBe(400);
    expect(errorOf(extra.json).field).toBe('negativePromptEmbeds');
    const full = await postJson(base, {
      ...sd3,
      negativePromptEmbeds: tensor([1, 4, 8]),
      negativePooledPromptEmbeds: tensor([1, 4]),
    });
    expect(full.status).toBe(200);
  });

  it('refuses guidance without CFG when the plan runs CFG in parallel', async () => {
    const plan = tinyPlan('sd3');
    plan.degrees.cfg = 2;
    const executor = new InstantExecutor(4);
    current = await startServer(executor, { limits: servingLimitsFromPlan(plan, TINY_DIMS) });
    const sd3 = {
      latents: tensor([1, 8, 8, 8]),
      promptEmbeds: tensor([1, 4, 8]),
      pooledPromptEmbeds: tensor([1, 4]),
    };
    const unguided = await postJson(current.base, { ...sd3, guidanceScale: 1 });
    expect(unguided.status).toBe(400);
    expect(errorOf(unguided.json).field).toBe('guidanceScale');
    expect(errorOf(unguided.json).message).toContain('degrees.cfg = 2');
    const guided = await postJson(current.base, {
      ...sd3,
      guidanceScale: 4.5,
      negativePromptEmbeds: tensor([1, 4, 8]),
      negativePooledPromptEmbeds: tensor([1, 4]),
    });
    expect(guided.status).toBe(200);
    expect(executor.batches).toHaveLength(1);
  });

  it('refuses bodies that are not JSON objects, other media types, and oversized bodies', async () => {
    const { base, executor } = await start();
    const notJson = await postJson(base, '{"latents":');
    expect(notJson.status).toBe(400);
    expect(errorOf(notJson.json).code).toBe('invalid_json');
    const array = await postJson(base, '[1,2]');
    expect(array.status).toBe(400);

    const text = await fetch(`${base}/v1/denoise`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'x',
    });
    expect(text.status).toBe(415);
    expect(errorOf((await text.json()) as Record<string, unknown>).field).toBe('content-type');

    const limit = maxBodyBytes(tinyLimits('flux', 4));
    const huge = await fetch(`${base}/v1/denoise`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'x'.repeat(limit + 1),
    });
    expect(huge.status).toBe(413);
    expect(errorOf((await huge.json()) as Record<string, unknown>).code).toBe('body_too_large');
    expect(executor.batches).toHaveLength(0);
  });

  it('derives the request shapes from the plan for Flux.1-dev and SD3 at 1024²', () => {
    const flux = tinyPlan('flux');
    flux.request = { height: 1024, width: 1024, steps: 28, maxBatch: 2, guidanceScale: 3.5 };
    flux.model.textTokens = 512;
    const fluxLimits = servingLimitsFromPlan(flux, {
      inChannels: 64,
      jointAttentionDim: 4096,
      pooledProjectionDim: 768,
    });
    expect(fluxLimits.tensors.map((t) => [t.name, t.dims])).toEqual([
      ['latents', [4096, 64]],
      ['prompt_embeds', [512, 4096]],
      ['pooled_prompt_embeds', [768]],
    ]);
    const sd3 = tinyPlan('sd3');
    sd3.request = { height: 1024, width: 1024, steps: 28, maxBatch: 1, guidanceScale: 7 };
    sd3.model.textTokens = 333;
    const sd3Limits = servingLimitsFromPlan(sd3, {
      inChannels: 16,
      jointAttentionDim: 4096,
      pooledProjectionDim: 2048,
    });
    expect(sd3Limits.tensors.find((t) => t.name === 'latents')?.dims).toEqual([16, 128, 128]);
    expect(sd3Limits.cfgAbove).toBe(1);
    // Body limit: every tensor at maxBatch, base64-inflated, plus header room.
    const f32Bytes = (16 * 128 * 128 + 2 * 333 * 4096 + 2 * 2048) * 4;
    expect(maxBodyBytes(sd3Limits)).toBe(Math.ceil((f32Bytes * 4) / 3) + 64 * 1024);
    expect(() => servingLimitsFromPlan(tinyPlan('flux'), TINY_DIMS)).not.toThrow();
  });
});
