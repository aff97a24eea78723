/** A non-leader pod's probes, answered by its launcher from its ranks' IPC status messages. */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { PodProbes } from '../../../src/runtime/launcher/pod-probes.js';
import { freePort } from '../parallel/harness.js';
import { readiness } from './serving-group.js';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
let probes: PodProbes | undefined;
afterEach(async () => {
  await probes?.close();
  probes = undefined;
});

async function start(): Promise<string> {
  const port = await freePort();
  probes = await PodProbes.start({
    env: { TESSERA_SERVING_PORT: String(port) },
    ranks: [2, 3],
    host: '127.0.0.1',
    logger,
  });
  return `http://127.0.0.1:${port}`;
}

const status = (rank: number, stage: string, reason?: string) => ({
  type: 'tessera-rank-status',
  rank,
  stage,
  ...(reason ? { reason } : {}),
});

describe('pod probes', () => {
  it('turn ready only once every local rank has warmed up', async () => {
    const base = await start();
    const p = probes as PodProbes;
    expect((await readiness(base)).status).toBe(503);
    p.onMessage(2, status(2, 'warmed-up'));
    p.onMessage(3, status(3, 'joined'));
    p.onMessage(3, { unrelated: true });
    expect((await readiness(base)).status).toBe(503);
    p.onMessage(3, status(3, 'warmed-up'));
    expect((await readiness(base)).status).toBe(200);
  });

  it('fail for good, with the reason, when a rank reports fatal or dies', async () => {
    const base = await start();
    const p = probes as PodProbes;
    for (const r of [2, 3]) p.onMessage(r, status(r, 'warmed-up'));
    p.onWorkerExit(2, 0, null);
    expect((await readiness(base)).status).toBe(200);
    p.onMessage(3, status(3, 'fatal', 'broadcast failed'));
    const seen = await readiness(base);
    expect(seen.status).toBe(503);
    expect(seen.reason).toContain('rank 3: broadcast failed');
    p.onWorkerExit(2, null, 'SIGKILL');
    expect((await readiness(base)).reason).toContain('rank 3: broadcast failed');
  });
});
