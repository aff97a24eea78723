import { afterEach, describe, expect, it } from 'vitest';
import { CommError } from '../../../src/runtime/comm/errors.js';
import type { DenoiseInputs } from '../../../src/runtime/denoise/inputs.js';
import { familyByName } from '../../../src/runtime/families/index.js';
import { Tensor } from '../../../src/runtime/native/index.js';
import { DenoiseExecutor, type GroupDenoiseOptions } from '../../../src/runtime/serving/denoise-executor.js';
import {
  ExecutorFatalError,
  type GenerationRequest,
  GenerationServer,
} from '../../../src/runtime/serving/index.js';
import {
  decodeF32,
  eventually,
  fluxBody,
  getJson,
  metricsText,
  postJson,
  quietLogger,
  sample,
  tinyLimits,
} from './harness.js';

const flux = familyByName('flux');

interface Seen {
  shapes: Record<string, readonly number[]>;
  options: GroupDenoiseOptions;
}

/** Stands in for the group: doubles the latents it is given and records what it saw. */
function doublingGroup(seen: Seen[]) {
  return async (inputs: DenoiseInputs, options: GroupDenoiseOptions): Promise<Tensor> => {
    const shapes: Record<string, readonly number[]> = { latents: inputs.latents.shape };
    for (const [name, t] of [...Object.entries(inputs.samples), ...Object.entries(inputs.shared)]) {
      shapes[name] = t.shape;
    }
    seen.push({ shapes, options });
    return Tensor.fromArray(
      inputs.latents.toFloat32Array().map((v) => v * 2),
      inputs.latents.shape,
    );
  };
}

function request(id: string, batchSize: number, mark: number, seed: number | null = null): GenerationRequest {
  const tensor = (dims: number[], fill = 0) => ({
    shape: [batchSize, ...dims],
    data: Float32Array.from({ length: batchSize * dims.reduce((a, b) => a * b, 1) }, (_, i) => fill + i),
  });
  return {
    id,
    batchSize,
    steps: 4,
    guidanceScale: 3.5,
    seed,
    tensors: new Map([
      ['latents', tensor([16, 8], mark)],
      ['prompt_embeds', tensor([4, 8])],
      ['pooled_prompt_embeds', tensor([4])],
    ]),
  };
}

let server: GenerationServer | undefined;
afterEach(async () => {
  await server?.shutdown();
  server = undefined;
});

describe('DenoiseExecutor', () => {
  it('joins a batch into one set of denoiser inputs and splits the latents back per request', async () => {
    const seen: Seen[] = [];
    const executor = new DenoiseExecutor({
      family: flux,
      latentHeight: 8,
      latentWidth: 8,
      maxBatch: 4,
      denoise: doublingGroup(seen),
    });
    const results = await executor.run(
      [request('a', 1, 1000), request('b', 2, 2000, 7)],
      new AbortController().signal,
    );
    expect(seen[0]?.shapes).toEqual({
      latents: [3, 16, 8],
      promptEmbeds: [3, 4, 8],
      pooledPromptEmbeds: [3, 4],
      imgIds: [16, 3],
      txtIds: [4, 3],
    });
    expect(seen[0]?.options).toEqual({
      steps: 4,
      guidanceScale: 3.5,
      seeds: [null, 7],
      requestIds: ['a', 'b'],
    });
    expect(results.map((r) => r.latents.shape)).toEqual([
      [1, 16, 8],
      [2, 16, 8],
    ]);
    expect(results[0]?.latents.data[0]).toBe(2000);
    expect(results[1]?.latents.data[0]).toBe(4000);
    expect(results[1]?.latents.data[128]).toBe(2 * (2000 + 128));
  });

  it('pads a batch to a multiple of the data-parallel degree and drops the padding from the results', async () => {
    const seen: Seen[] = [];
    const executor = new DenoiseExecutor({
      family: flux,
      latentHeight: 8,
      latentWidth: 8,
      maxBatch: 4,
      batchMultiple: 2,
      denoise: doublingGroup(seen),
    });
    const results = await executor.run([request('a', 1, 500)], new AbortController().signal);
    expect(seen[0]?.shapes.latents).toEqual([2, 16, 8]);
    expect(seen[0]?.shapes.promptEmbeds).toEqual([2, 4, 8]);
    expect(results).toHaveLength(1);
    expect(results[0]?.latents.shape).toEqual([1, 16, 8]);
    expect(results[0]?.latents.data.length).toBe(128);
    expect(results[0]?.latents.data[127]).toBe(2 * (500 + 127));
    const three = await executor.run(
      [request('b', 2, 0), request('c', 1, 9000)],
      new AbortController().signal,
    );
    expect(seen[1]?.shapes.latents).toEqual([4, 16, 8]);
    expect(three.map((r) => r.latents.shape[0])).toEqual([2, 1]);
    expect(three[1]?.latents.data[0]).toBe(18000);
  });

  it('reports communicator failures as fatal and other failures as they are', async () => {
    const failing = (err: Error) =>
      new DenoiseExecutor({
        family: flux,
        latentHeight: 8,
        latentWidth: 8,
        maxBatch: 1,
        denoise: async () => {
          throw err;
        },
      });
    const comm = new CommError('allToAll (ulysses) failed: peer 3 closed the connection', 'allToAll');
    const fatal = failing(comm).run([request('a', 1, 0)], new AbortController().signal);
    await expect(fatal).rejects.toBeInstanceOf(ExecutorFatalError);
    await expect(fatal).rejects.toMatchObject({ cause: comm });
    const plain = failing(new Error('bad input')).run([request('a', 1, 0)], new AbortController().signal);
    await expect(plain).rejects.not.toBeInstanceOf(ExecutorFatalError);
  });

  it('serves batched HTTP requests end to end, and a communicator failure takes the leader out', async () => {
    const seen: Seen[] = [];
    let fail = false;
    const group = doublingGroup(seen);
    let release: () => void = () => undefined;
    let hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    const executor = new DenoiseExecutor({
      family: flux,
      latentHeight: 8,
      latentWidth: 8,
      maxBatch: 4,
      denoise: async (inputs, options) => {
        await hold;
        if (fail) throw new CommError('allReduce (cfg) timed out after 30000 ms', 'allReduce');
        return group(inputs, options);
      },
    });
    server = new GenerationServer({
      executor,
      limits: tinyLimits('flux', 4),
      queueSize: 4,
      authToken: undefined,
      logger: quietLogger,
    });
    const { port } = await server.listen(0, '127.0.0.1');
    server.markStarted();
    const base = `http://127.0.0.1:${port}`;

    const first = postJson(base, fluxBody(1, 1));
    // The first request holds the group while two more queue; they then run as one batch of 3.
    const depth = async () => sample(await metricsText(base), 'tessera_serving_queue_depth');
    const inFlight = async () => sample(await metricsText(base), 'tessera_serving_in_flight');
    await eventually(async () => (await inFlight()) === 1, 'the first request running');
    const queued = [postJson(base, fluxBody(1, 2)), postJson(base, fluxBody(2, 3))];
    await eventually(async () => (await depth()) === 2, 'two requests queued');
    release();
    const answers = await Promise.all([first, ...queued]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(seen.map((s) => s.shapes.latents?.[0])).toEqual([1, 3]);
    answers.forEach((a, i) => {
      const latents = a.json.latents as { data: string };
      expect(decodeF32(latents.data)[0]).toBeCloseTo(2 * (i + 1), 5);
    });

    fail = true;
    hold = Promise.resolve();
    const broken = await postJson(base, fluxBody());
    expect(broken.status).toBe(503);
    const ready = await getJson(base, '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.json.reason).toContain('allReduce (cfg) timed out');
  });
});
