/**
 * Pod mode of `tessera worker`, end to end: the operator's pod template for 2 pods × 2 ranks (pp2·u2,
 * CPU) run as local processes without request arguments. Every pod's `/readyz` turns 200; the leader
 * answers `POST /v1/denoise` with the one-process result; a second concurrent request queues behind the
 * first; SIGTERM drains the group and every process exits 0; a killed rank takes the whole group down,
 * non-zero, within the collective timeout.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { packLatents } from '../../../src/runtime/models/flux/packing.js';
import { FLUX_TXT7, oneProcessResult, writeInputs } from '../parallel/denoise-fixtures.js';
import { maxRelativeError } from '../parallel/harness.js';
import { workerPids } from '../parallel/pod-group.js';
import { decodeF32, metricsText, postJson, sample } from '../serving/harness.js';
import {
  alive,
  fixtureRequestBody,
  groupPids,
  killGroup,
  probe,
  readiness,
  type ServingGroup,
  startServingGroup,
  waitAllReady,
} from './serving-group.js';

const COMM_TIMEOUT_MS = 8_000;
const READY_WITHIN_MS = 60_000;
let dir = '';
let group: ServingGroup | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-serve-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  killGroup(group);
  group = undefined;
});

interface DenoiseAnswer {
  latents: { shape: number[]; data: string };
  timing: { queueMs: number; runMs: number };
}

async function expectedPacked(): Promise<Float32Array> {
  const inputs = writeInputs(FLUX_TXT7, dir, 1);
  return packLatents(await oneProcessResult(FLUX_TXT7, inputs)).toFloat32Array();
}

describe('tessera worker in pod mode: a 2 pods × 2 ranks serving group', () => {
  it('serves the one-process result, queues a concurrent request, and drains on SIGTERM', async () => {
    const g = await startServingGroup(dir, COMM_TIMEOUT_MS);
    group = g;
    const readyMs = await waitAllReady(g, READY_WITHIN_MS);
    expect(await probe(g.bases[1] as string, '/healthz')).toBe(200);
    const expected = await expectedPacked();
    const body = fixtureRequestBody();

    const first = await postJson(g.leader, body);
    expect(first.status, JSON.stringify(first.json)).toBe(200);
    const answer = first.json as unknown as DenoiseAnswer;
    const error = maxRelativeError(decodeF32(answer.latents.data), expected);
    expect(answer.latents.shape).toEqual((body.latents as { shape: number[] }).shape);
    expect(error).toBeLessThanOrEqual(1e-5);

    const [a, b] = await Promise.all([postJson(g.leader, body), postJson(g.leader, body)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const [ta, tb] = [a, b].map((r) => (r.json as unknown as DenoiseAnswer).timing) as [
      DenoiseAnswer['timing'],
      DenoiseAnswer['timing'],
    ];
    // maxBatch is 1: one ran while the other waited for the whole run.
    const [ran, queued] = ta.queueMs <= tb.queueMs ? [ta, tb] : [tb, ta];
    expect(queued.queueMs).toBeGreaterThanOrEqual(0.5 * ran.runMs);
    for (const r of [a, b]) {
      const latents = decodeF32((r.json as unknown as DenoiseAnswer).latents.data);
      expect(maxRelativeError(latents, expected)).toBeLessThanOrEqual(1e-5);
    }

    const pids = groupPids(g);
    expect(pids).toHaveLength(6);
    const stoppedAt = Date.now();
    for (const p of g.pods) p.child.kill('SIGTERM');
    const exits = await Promise.all(g.pods.map((p) => p.exited));
    const stopMs = Date.now() - stoppedAt;
    for (const [i, e] of exits.entries()) {
      expect(e.code, `pod ${i}:\n${g.pods[i]?.output().slice(-3000)}`).toBe(0);
    }
    for (const pid of pids) expect(alive(pid), `process ${pid} still running`).toBe(false);
    process.stdout.write(
      `serving group pp2·u2 (2 pods × 2 ranks): ready in ${readyMs} ms; max relative error ${error.toExponential(2)}; ` +
        `run ${ran.runMs} ms, second request queued ${queued.queueMs} ms; SIGTERM drain ${stopMs} ms\n`,
    );
  }, 120_000);

  it('SIGTERM during a run answers that run, then every process exits 0', async () => {
    const g = await startServingGroup(dir, COMM_TIMEOUT_MS);
    group = g;
    await waitAllReady(g, READY_WITHIN_MS);
    const pids = groupPids(g);
    // Enough steps that the run is still going when the pods are told to stop.
    const running = postJson(g.leader, { ...fixtureRequestBody(), steps: 100 });
    const deadline = Date.now() + 10_000;
    while (sample(await metricsText(g.leader), 'tessera_serving_in_flight') < 1) {
      if (Date.now() > deadline) throw new Error('the request never started running');
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const p of g.pods) p.child.kill('SIGTERM');
    const answer = await running;
    const exits = await Promise.all(g.pods.map((p) => p.exited));
    const runMs = (answer.json as unknown as DenoiseAnswer).timing?.runMs;
    process.stdout.write(
      `serving drain: the 100-step run (${runMs} ms) was answered ${answer.status} after SIGTERM\n`,
    );
    expect(answer.status, JSON.stringify(answer.json).slice(0, 500)).toBe(200);
    for (const [i, e] of exits.entries()) {
      expect(e.code, `pod ${i}:\n${g.pods[i]?.output().slice(-3000)}`).toBe(0);
    }
    for (const pid of pids) expect(alive(pid), `process ${pid} still running`).toBe(false);
  }, 120_000);

  it('a killed rank takes every process of the group down, non-zero, within the timeout', async () => {
    const g = await startServingGroup(dir, COMM_TIMEOUT_MS);
    group = g;
    await waitAllReady(g, READY_WITHIN_MS);
    const pids = groupPids(g);
    expect(pids).toHaveLength(6);
    const victim = workerPids(g.pods[1]?.output() ?? '').get(3) as number;
    const leaderStatuses: number[] = [];
    const leaderReasons: string[] = [];
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const seen = await readiness(g.leader);
        leaderStatuses.push(seen.status);
        if (seen.reason) leaderReasons.push(seen.reason);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const killedAt = Date.now();
    process.kill(victim, 'SIGKILL');
    const exits = await Promise.all(g.pods.map((p) => p.exited));
    const elapsed = Date.now() - killedAt;
    watching = false;
    await watch;
    if (process.env.TESSERA_TEST_DUMP) {
      for (const p of g.pods)
        writeFileSync(join(process.env.TESSERA_TEST_DUMP, `kill-pod${p.pod}.log`), p.output());
    }
    process.stdout.write(
      `serving kill test: every pod exited ${elapsed} ms after the kill (timeout ${COMM_TIMEOUT_MS} ms); ` +
        `leader readyz seen: ${[...new Set(leaderStatuses)].join(', ')} (0 = gone); reason: ${leaderReasons[0]}\n`,
    );
    for (const [i, e] of exits.entries()) expect(e.code === 0, `pod ${i} exited ${e.code}`).toBe(false);
    expect(elapsed).toBeLessThan(COMM_TIMEOUT_MS + 5_000);
    // After the kill the leader never reported ready again for long: its readiness failed or it was gone.
    expect(leaderStatuses.at(-1)).not.toBe(200);
    // The leader said why before it went: a fatal 503 (whichever of its own heartbeat or its launcher's
    // notice about a dead local rank found the failure first).
    expect(leaderStatuses).toContain(503);
    expect(leaderReasons[0]).toMatch(/^executor failed: /);
    for (const pid of pids) expect(alive(pid), `process ${pid} still running`).toBe(false);
  }, 120_000);
});
