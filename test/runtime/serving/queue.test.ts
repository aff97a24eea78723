import { afterEach, describe, expect, it } from 'vitest';
import {
  type Answer,
  decodeF32,
  eventually,
  fluxBody,
  metricsText,
  openRequest,
  postJson,
  type Started,
  SteppedExecutor,
  sample,
  startServer,
} from './harness.js';

let current: Started | undefined;
let executor: SteppedExecutor;
afterEach(async () => {
  // Let any run still held finish, so shutdown does not wait on it.
  for (const run of executor?.runs ?? []) executor.finish(run);
  await current?.close();
  current = undefined;
});

async function start(queueSize: number, maxBatch = 4): Promise<string> {
  executor = new SteppedExecutor(maxBatch);
  current = await startServer(executor, { queueSize });
  return current.base;
}

async function queueDepth(base: string): Promise<number> {
  return sample(await metricsText(base), 'tessera_serving_queue_depth');
}

describe('queue and batching', () => {
  it('answers 429 with Retry-After once the queue is full, and takes requests again after', async () => {
    const base = await start(2);
    const first = postJson(base, fluxBody());
    const firstRun = await executor.started(1);
    const queued = [postJson(base, fluxBody()), postJson(base, fluxBody())];
    await eventually(async () => (await queueDepth(base)) === 2, 'two queued requests');

    const refused = await postJson(base, fluxBody());
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((refused.json.error as { code: string }).code).toBe('queue_full');
    expect(await queueDepth(base)).toBe(2);

    executor.finish(firstRun);
    expect((await first).status).toBe(200);
    executor.finish(await executor.started(2));
    expect((await Promise.all(queued)).map((a) => a.status)).toEqual([200, 200]);
    // The queue drained; a new request is served.
    const again = postJson(base, fluxBody());
    executor.finish(await executor.started(3));
    expect((await again).status).toBe(200);
  });

  it('with queueSize 0 takes a request only while the executor is idle', async () => {
    const base = await start(0);
    const first = postJson(base, fluxBody());
    const run = await executor.started(1);
    const refused = await postJson(base, fluxBody());
    expect(refused.status).toBe(429);
    executor.finish(run);
    expect((await first).status).toBe(200);
    const next = postJson(base, fluxBody());
    executor.finish(await executor.started(2));
    expect((await next).status).toBe(200);
  });

  it('batches compatible queued requests up to maxBatch samples, oldest first, one run at a time', async () => {
    const base = await start(16, 4);
    const first = postJson(base, fluxBody(1, 100));
    const firstRun = await executor.started(1);
    // Queued while busy: 2 + 1 + 2 samples compatible, 1 with other steps, then 1 more compatible.
    const order = [
      { batch: 2, mark: 1, steps: 4 },
      { batch: 1, mark: 2, steps: 4 },
      { batch: 2, mark: 3, steps: 4 },
      { batch: 1, mark: 4, steps: 8 },
      { batch: 1, mark: 5, steps: 4 },
    ];
    const answers: Promise<Answer>[] = [];
    for (const [i, r] of order.entries()) {
      answers.push(postJson(base, fluxBody(r.batch, r.mark, { steps: r.steps })));
      await eventually(async () => (await queueDepth(base)) === i + 1, `request ${i} queued`);
    }
    executor.finish(firstRun);
    const second = await executor.started(2);
    // 2 + 1 fit, the next 2 would make 5 > 4 and wait, steps 8 is incompatible, the last 1 fits.
    expect(second.batch.map((r) => r.batchSize)).toEqual([2, 1, 1]);
    expect(second.batch.map((r) => r.steps)).toEqual([4, 4, 4]);
    executor.finish(second);
    const third = await executor.started(3);
    expect(third.batch.map((r) => r.batchSize)).toEqual([2]);
    executor.finish(third);
    const fourth = await executor.started(4);
    expect(fourth.batch.map((r) => r.steps)).toEqual([8]);
    executor.finish(fourth);

    const results = await Promise.all(answers);
    expect(results.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    // Each request gets its own latents back (doubled), not a neighbour's.
    for (const [i, r] of order.entries()) {
      const latents = (results[i] as Answer).json.latents as { shape: number[]; data: string };
      expect(latents.shape).toEqual([r.batch, 16, 8]);
      expect(decodeF32(latents.data)[0]).toBeCloseTo(2 * r.mark, 5);
    }
    expect((results[0] as Answer).json.batchSamples).toBe(4);
    expect(executor.maxActive).toBe(1);
    expect((await first).status).toBe(200);
    const metrics = await metricsText(base);
    expect(sample(metrics, 'tessera_serving_batch_samples_count')).toBe(4);
    expect(sample(metrics, 'tessera_serving_batch_samples_bucket{le="1"}')).toBe(2);
  });

  it('answers 504 when the deadline passes in the queue, and the request never runs', async () => {
    const base = await start(4);
    const first = postJson(base, fluxBody());
    const firstRun = await executor.started(1);
    const late = await postJson(base, fluxBody(1, 7, { timeoutMs: 50 }));
    expect(late.status).toBe(504);
    expect((late.json.error as { code: string }).code).toBe('deadline_exceeded');
    expect(await queueDepth(base)).toBe(0);
    executor.finish(firstRun);
    expect((await first).status).toBe(200);
    // Nothing else was run: the expired request left the queue.
    const after = postJson(base, fluxBody(1, 9));
    const next = await executor.started(2);
    expect(next.batch.map((r) => r.tensors.get('latents')?.data[0])).toEqual([9]);
    executor.finish(next);
    expect((await after).status).toBe(200);
  });

  it('answers 504 when the deadline passes while running, and aborts a run nobody waits for', async () => {
    const base = await start(4);
    const late = await postJson(base, fluxBody(1, 0, { timeoutMs: 80 }));
    expect(late.status).toBe(504);
    const run = await executor.started(1);
    expect(run.signal.aborted).toBe(true);
    executor.finish(run);
  });

  it('drops a queued request whose client disconnects, and counts it as 499', async () => {
    const base = await start(4);
    const first = postJson(base, fluxBody());
    const firstRun = await executor.started(1);
    const gone = openRequest(base, fluxBody(1, 5));
    await eventually(async () => (await queueDepth(base)) === 1, 'the request queued');
    gone.drop();
    await eventually(async () => (await queueDepth(base)) === 0, 'the dropped request left the queue');
    await eventually(
      async () => sample(await metricsText(base), 'tessera_serving_requests_total{code="499"}') === 1,
      'the 499 counted',
    );
    executor.finish(firstRun);
    expect((await first).status).toBe(200);
    // The dropped request is never run: the next run holds only the next request.
    const after = postJson(base, fluxBody(1, 6));
    const next = await executor.started(2);
    expect(next.batch).toHaveLength(1);
    expect(next.batch[0]?.tensors.get('latents')?.data[0]).toBeCloseTo(6, 5);
    executor.finish(next);
    expect((await after).status).toBe(200);
  });
});
