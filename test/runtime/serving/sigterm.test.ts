import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  readServingConfig,
  ServingConfigError,
  startLeaderServing,
  startWorkerProbes,
} from '../../../src/runtime/serving/index.js';
import {
  eventually,
  fluxBody,
  getJson,
  InstantExecutor,
  metricsText,
  postJson,
  quietLogger,
  sample,
  TINY_DIMS,
  tinyPlan,
} from './harness.js';

const CHILD = fileURLToPath(new URL('./sigterm-child.ts', import.meta.url));

describe('SIGTERM', () => {
  it('drains a real leader process: queued 503, running answered, exit 0', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, '600'], {
      env: { ...process.env, TESSERA_SERVING_QUEUE_SIZE: '3', TESSERA_SERVING_AUTH_TOKEN: 'tok\n' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const [line] = (await once(child.stdout, 'data')) as [Buffer];
      const { port } = JSON.parse(line.toString()) as { port: number };
      const base = `http://127.0.0.1:${port}`;
      const auth = { authorization: 'Bearer tok' };
      expect(sample(await metricsText(base), 'tessera_serving_queue_capacity')).toBe(3);
      const running = postJson(base, fluxBody(), auth);
      await eventually(
        async () => sample(await metricsText(base), 'tessera_serving_in_flight') === 1,
        'running',
      );
      const queued = postJson(base, fluxBody(), auth);
      await eventually(
        async () => sample(await metricsText(base), 'tessera_serving_queue_depth') === 1,
        'queued',
      );

      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      expect((await queued).status).toBe(503);
      expect((await getJson(base, '/readyz')).status).toBe(503);
      expect((await running).status).toBe(200);
      const [code] = (await exited) as [number | null];
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe('serving env', () => {
  it('reads port, queue size and token, and names a bad variable', () => {
    expect(readServingConfig({})).toEqual({ port: 8080, queueSize: 16, authToken: undefined });
    expect(
      readServingConfig({
        TESSERA_SERVING_PORT: '9000',
        TESSERA_SERVING_QUEUE_SIZE: '0',
        TESSERA_SERVING_AUTH_TOKEN: ' abc\n',
      }),
    ).toEqual({ port: 9000, queueSize: 0, authToken: 'abc' });
    expect(() => readServingConfig({ TESSERA_SERVING_QUEUE_SIZE: '-1' })).toThrow(ServingConfigError);
    expect(() => readServingConfig({ TESSERA_SERVING_PORT: '80a' })).toThrow(/TESSERA_SERVING_PORT/);
  });
});

describe('startLeaderServing / startWorkerProbes', () => {
  it('serve from the env contract and the plan', async () => {
    const env = { TESSERA_SERVING_QUEUE_SIZE: '5', TESSERA_SERVING_AUTH_TOKEN: 'tok' };
    const leader = await startLeaderServing({
      env,
      plan: tinyPlan('flux', 2),
      dims: TINY_DIMS,
      executor: new InstantExecutor(2),
      logger: quietLogger,
      host: '127.0.0.1',
      port: 0,
    });
    const probes = await startWorkerProbes({ env, logger: quietLogger, host: '127.0.0.1', port: 0 });
    try {
      const base = `http://127.0.0.1:${leader.address()?.port}`;
      expect((await getJson(base, '/healthz')).status).toBe(503);
      leader.markStarted();
      expect((await postJson(base, fluxBody(1))).status).toBe(401);
      expect((await postJson(base, fluxBody(3), { authorization: 'Bearer tok' })).status).toBe(400);
      expect((await postJson(base, fluxBody(2), { authorization: 'Bearer tok' })).status).toBe(200);
      expect(sample(await metricsText(base), 'tessera_serving_queue_capacity')).toBe(5);
      const probeBase = `http://127.0.0.1:${probes.address()?.port}`;
      expect((await getJson(probeBase, '/readyz')).status).toBe(503);
    } finally {
      await leader.shutdown();
      await probes.shutdown();
    }
  });
});
