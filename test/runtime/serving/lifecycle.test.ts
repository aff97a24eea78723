import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ExecutorFatalError, GenerationServer, ProbeServer } from '../../../src/runtime/serving/index.js';
import {
  eventually,
  fluxBody,
  getJson,
  InstantExecutor,
  metricsText,
  postJson,
  quietLogger,
  type Started,
  SteppedExecutor,
  sample,
  startServer,
  tinyLimits,
} from './harness.js';

let current: Started | undefined;
let stepped: SteppedExecutor | undefined;
afterEach(async () => {
  for (const run of stepped?.runs ?? []) stepped?.finish(run);
  stepped = undefined;
  await current?.close();
  current = undefined;
});

describe('probes', () => {
  it('report starting until markStarted, then started and ready; generation waits for it', async () => {
    current = await startServer(new InstantExecutor(), { started: false });
    const { base, server } = current;
    expect((await getJson(base, '/healthz')).status).toBe(503);
    const notReady = await getJson(base, '/readyz');
    expect(notReady.status).toBe(503);
    expect(notReady.json.reason).toContain('starting');
    const early = await postJson(base, fluxBody());
    expect(early.status).toBe(503);
    expect(early.headers.get('retry-after')).toBe('5');

    server.markStarted();
    expect(await getJson(base, '/healthz')).toEqual({ status: 200, json: { status: 'started' } });
    expect(await getJson(base, '/readyz')).toEqual({ status: 200, json: { status: 'ready' } });
    expect((await postJson(base, fluxBody())).status).toBe(200);
    expect(sample(await metricsText(base), 'tessera_serving_ready')).toBe(1);
  });

  it('answer on worker pods through the ProbeServer, which has no generation routes', async () => {
    const probes = new ProbeServer(quietLogger);
    const { port } = await probes.listen(0, '127.0.0.1');
    const base = `http://127.0.0.1:${port}`;
    try {
      expect((await getJson(base, '/healthz')).status).toBe(503);
      probes.markStarted();
      expect((await getJson(base, '/healthz')).status).toBe(200);
      expect((await getJson(base, '/readyz')).status).toBe(200);
      expect((await postJson(base, fluxBody())).status).toBe(404);
      probes.reportFatal('rank 3 lost its peer');
      const ready = await getJson(base, '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.json.reason).toContain('rank 3 lost its peer');
      // Startup stays passed: a restart would not help a pod whose group is being replaced anyway.
      expect((await getJson(base, '/healthz')).status).toBe(200);
    } finally {
      await probes.shutdown();
    }
  });
});

describe('auth', () => {
  it('requires the bearer token on generation routes only', async () => {
    current = await startServer(new InstantExecutor(), { authToken: 's3cret-token' });
    const { base } = current;
    const none = await postJson(base, fluxBody());
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect((none.json.error as { field: string }).field).toBe('authorization');
    expect((await postJson(base, fluxBody(), { authorization: 'Bearer s3cret-tokeX' })).status).toBe(401);
    expect((await postJson(base, fluxBody(), { authorization: 'Bearer s3cret' })).status).toBe(401);
    expect((await postJson(base, fluxBody(), { authorization: 'Basic s3cret-token' })).status).toBe(401);
    expect((await postJson(base, fluxBody(), { authorization: 'Bearer s3cret-token' })).status).toBe(200);
    // Probes and metrics stay open for kubelet and Prometheus.
    expect((await getJson(base, '/readyz')).status).toBe(200);
    expect((await getJson(base, '/healthz')).status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    const metrics = await metricsText(base);
    expect(sample(metrics, 'tessera_serving_requests_total{code="401"}')).toBe(4);
    expect(sample(metrics, 'tessera_serving_requests_total{code="200"}')).toBe(1);
  });
});

describe('executor failures', () => {
  it('turns readiness 503 after a fatal error and fails the batch and the queue with 503', async () => {
    stepped = new SteppedExecutor(1);
    current = await startServer(stepped, { queueSize: 4 });
    const { base } = current;
    const running = postJson(base, fluxBody());
    const run = await stepped.started(1);
    const queued = postJson(base, fluxBody());
    await eventually(
      async () => sample(await metricsText(base), 'tessera_serving_queue_depth') === 1,
      'queued',
    );

    run.reject(new ExecutorFatalError('rank 5 stopped answering the all-to-all (peer 10.0.0.7 gone)'));
    const [a, b] = await Promise.all([running, queued]);
    expect([a.status, b.status]).toEqual([503, 503]);
    expect((a.json.error as { message: string }).message).toContain('rank 5 stopped answering');
    const ready = await getJson(base, '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.json.reason).toContain('rank 5 stopped answering');
    expect((await postJson(base, fluxBody())).status).toBe(503);
    expect(stepped.runs).toHaveLength(1);
    const metrics = await metricsText(base);
    expect(sample(metrics, 'tessera_serving_executor_failures_total{kind="fatal"}')).toBe(1);
    expect(sample(metrics, 'tessera_serving_ready')).toBe(0);
  });

  it('answers 500 for a batch that fails without breaking the group, and stays ready', async () => {
    stepped = new SteppedExecutor(2);
    current = await startServer(stepped);
    const { base } = current;
    const failing = postJson(base, fluxBody());
    (await stepped.started(1)).reject(new Error('kernel rejected the input'));
    const answer = await failing;
    expect(answer.status).toBe(500);
    expect((answer.json.error as { message: string }).message).toContain('kernel rejected the input');
    expect((await getJson(base, '/readyz')).status).toBe(200);
    const next = postJson(base, fluxBody());
    stepped.finish(await stepped.started(2));
    expect((await next).status).toBe(200);
  });

  it('takes a fatal report from a watchdog between runs', async () => {
    current = await startServer(new InstantExecutor());
    current.server.reportFatal('communicator watchdog: no heartbeat from rank 2 for 30 s');
    const ready = await getJson(current.base, '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.json.reason).toContain('rank 2');
    expect((await postJson(current.base, fluxBody())).status).toBe(503);
  });
});

describe('graceful shutdown', () => {
  it('fails readiness, finishes the running batch, fails the queued ones with 503, then closes', async () => {
    stepped = new SteppedExecutor(1);
    current = await startServer(stepped, { queueSize: 4 });
    const { base, server } = current;
    const running = postJson(base, fluxBody());
    const run = await stepped.started(1);
    const queued = postJson(base, fluxBody());
    await eventually(
      async () => sample(await metricsText(base), 'tessera_serving_queue_depth') === 1,
      'queued',
    );

    let closed = false;
    const shutdown = server.shutdown().then(() => {
      closed = true;
    });
    const drained = await queued;
    expect(drained.status).toBe(503);
    expect((drained.json.error as { code: string }).code).toBe('shutting_down');
    const ready = await getJson(base, '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.json.reason).toBe('shutting down');
    expect((await postJson(base, fluxBody())).status).toBe(503);
    expect(closed).toBe(false);

    stepped.finish(run);
    expect((await running).status).toBe(200);
    await shutdown;
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    current = undefined;
  });
});

describe('metrics', () => {
  it('count requests by code and observe queue and run latencies', async () => {
    current = await startServer(new InstantExecutor());
    const { base } = current;
    const before = await metricsText(base);
    expect(before).toContain('# TYPE tessera_serving_requests_total counter');
    expect(sample(before, 'tessera_serving_run_seconds_count')).toBe(0);
    for (let i = 0; i < 3; i++) expect((await postJson(base, fluxBody())).status).toBe(200);
    expect((await postJson(base, { ...fluxBody(), steps: 0 })).status).toBe(400);
    const after = await metricsText(base);
    expect(sample(after, 'tessera_serving_requests_total{code="200"}')).toBe(3);
    expect(sample(after, 'tessera_serving_requests_total{code="400"}')).toBe(1);
    expect(sample(after, 'tessera_serving_run_seconds_count')).toBe(3);
    expect(sample(after, 'tessera_serving_queue_seconds_count')).toBe(3);
    expect(sample(after, 'tessera_serving_queue_seconds_bucket{le="+Inf"}')).toBe(3);
    expect(sample(after, 'tessera_serving_queue_capacity')).toBe(8);
    expect(sample(after, 'tessera_serving_max_batch')).toBe(4);
    expect(sample(after, 'tessera_serving_in_flight')).toBe(0);
    // The leader process's own series come from prom-client's default collectors.
    expect(after).toContain('# TYPE process_resident_memory_bytes gauge');
    expect(after).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
  });
});

describe('access log', () => {
  it('writes one structured line per request with its id, status and error code', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const text of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(text));
        done();
      },
    });
    const server = new GenerationServer({
      executor: new InstantExecutor(),
      limits: tinyLimits(),
      queueSize: 2,
      authToken: undefined,
      logger: pino({ level: 'info' }, sink),
    });
    const { port } = await server.listen(0, '127.0.0.1');
    server.markStarted();
    const base = `http://127.0.0.1:${port}`;
    try {
      expect((await postJson(base, fluxBody(), { 'x-request-id': 'ok-1' })).status).toBe(200);
      expect((await postJson(base, { ...fluxBody(), steps: -1 }, { 'x-request-id': 'bad-1' })).status).toBe(
        400,
      );
      await eventually(() => lines.filter((l) => l.msg === 'access').length === 2, 'two access lines');
      const access = lines.filter((l) => l.msg === 'access');
      expect(access[0]).toMatchObject({
        requestId: 'ok-1',
        method: 'POST',
        path: '/v1/denoise',
        status: 200,
      });
      expect(access[1]).toMatchObject({ requestId: 'bad-1', status: 400, error: 'invalid_field' });
      expect(typeof access[0]?.ms).toBe('number');
      expect(typeof access[0]?.runMs).toBe('number');
      expect(access[1]?.runMs).toBeUndefined();
    } finally {
      await server.shutdown();
    }
  });
});

describe('routes', () => {
  it('answer unknown paths with 404 and wrong methods with 405 and Allow', async () => {
    current = await startServer(new InstantExecutor());
    const { base } = current;
    const missing = await fetch(`${base}/v1/generate`, { method: 'POST' });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { fix: string } }).error.fix).toContain('/v1/denoise');
    const get = await fetch(`${base}/v1/denoise`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const post = await fetch(`${base}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
  });
});
