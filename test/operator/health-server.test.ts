import { afterEach, describe, expect, it } from 'vitest';
import type { InformerHealth } from '../../src/operator/informers/informer.js';
import { HealthServer } from '../../src/operator/server/health-server.js';

const servers: HealthServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(
  health: InformerHealth[],
): Promise<(path: string) => Promise<{ status: number; body: string }>> {
  const server = new HealthServer(
    { informerHealth: () => health, synced: health.every((h) => h.synced), metricsText: async () => 'm 1\n' },
    { host: '127.0.0.1', port: 0, informerDeadAfterMs: 60_000 },
  );
  servers.push(server);
  const port = await server.listen();
  return async (path) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: res.status, body: await res.text() };
  };
}

const healthy = (resource: string): InformerHealth => ({
  resource,
  synced: true,
  lastContactAt: Date.now(),
  consecutiveFailures: 0,
  restarts: 0,
});

describe('HealthServer', () => {
  it('is healthy and ready while every watch hears from the API server', async () => {
    const get = await serve([healthy('pods'), healthy('nodes')]);
    expect(await get('/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect(await get('/readyz')).toEqual({ status: 200, body: 'ok\n' });
    expect((await get('/metrics')).body).toBe('m 1\n');
  });
  it('fails /healthz naming the watch that has been dead too long', async () => {
    const get = await serve([healthy('pods'), { ...healthy('nodes'), lastContactAt: Date.now() - 120_000 }]);
    const res = await get('/healthz');
    expect(res.status).toBe(503);
    expect(res.body).toMatch(/^nodes: no contact with the API server for 12\d s/);
  });
  it('is not ready before every cache has synced', async () => {
    const get = await serve([healthy('pods'), { ...healthy('statefulsets'), synced: false }]);
    expect(await get('/readyz')).toEqual({ status: 503, body: 'statefulsets: not synced\n' });
  });
});
