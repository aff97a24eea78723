/**
 * A one-rank group (1 pod × 1 rank, the planner's one-GPU group) under back-to-back runs: its leader
 * computes with no collective to wait on, so a server on the same thread as the model would answer
 * nothing until the queue is empty. The server runs in a thread of its own (leader-server.ts): /readyz
 * must answer within 100 ms (99 in 100 on this process's clock, each within 1 s) and every deadline must
 * fire within 100 ms of itself on the leader's clock while runs follow each other. It prints what it saw:
 * runs, their length, probe latencies, deadline lateness.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  alive,
  fixtureRequestBody,
  groupPids,
  type ServingGroup,
  startServingGroup,
  waitAllReady,
} from './serving-group.js';

const ONE_RANK = { dataParallel: 1, cfg: 1, pipefusion: 1, ring: 1, ulysses: 1 };
/** The most steps a request may ask for: the longest run the fixture model makes. */
const LONG_STEPS = 100;
const COMM_TIMEOUT_MS = 20_000;
const LOAD_MS = 8_000;
const CLIENTS = 3;
const PROBE_EVERY_MS = 50;
const BOUND_MS = 100;
/** No probe may take this long even on a loaded machine's client clock. */
const PROBE_CEILING_MS = 1_000;
const TIGHT_TIMEOUTS_MS = [50, 1_000] as const;

let dir = '';
let group: ServingGroup | undefined;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-one-rank-'));
});
afterAll(() => {
  for (const pid of group ? groupPids(group) : []) if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface Answered {
  status: number;
  ms: number;
  code?: string;
  runMs?: number;
}

async function post(base: string, body: Record<string, unknown>, id?: string): Promise<Answered> {
  const started = performance.now();
  const res = await fetch(`${base}/v1/denoise`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(id !== undefined ? { 'x-request-id': id } : {}) },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { error?: { code?: string } };
  const ms = performance.now() - started;
  const runMs = res.headers.get('x-tessera-run-ms');
  return {
    status: res.status,
    ms,
    ...(json.error?.code !== undefined ? { code: json.error.code } : {}),
    ...(runMs !== null ? { runMs: Number(runMs) } : {}),
  };
}

/** Milliseconds from arrival to answer of each request, from the leader's access lines. */
function serverMs(output: string): Map<string, number> {
  const ms = new Map<string, number>();
  for (const line of output.split('\n')) {
    if (!line.includes('"msg":"access"')) continue;
    const entry = JSON.parse(line) as { requestId?: string; ms?: number };
    if (entry.requestId !== undefined && entry.ms !== undefined) ms.set(entry.requestId, entry.ms);
  }
  return ms;
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const quantile = (xs: number[], q: number) =>
  sorted(xs)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0;

describe('one-rank leader', () => {
  it('answers /readyz and fires deadlines within 100 ms while runs follow each other', async () => {
    const g = await startServingGroup(dir, COMM_TIMEOUT_MS, {
      degrees: ONE_RANK,
      pods: 1,
      env: { TESSERA_SERVING_QUEUE_SIZE: '16' },
    });
    group = g;
    await waitAllReady(g, 180_000);
    const base = g.leader;
    const body = { ...fixtureRequestBody(), steps: LONG_STEPS, timeoutMs: 120_000 };
    const stopAt = Date.now() + LOAD_MS;

    const runs: Answered[] = [];
    const clients = Array.from({ length: CLIENTS }, async () => {
      while (Date.now() < stopAt) runs.push(await post(base, body));
    });

    const probes: { status: number; ms: number }[] = [];
    const prober = (async () => {
      // Probing starts once a run is under way, so every probe lands on a busy leader.
      while (runs.length === 0 && Date.now() < stopAt) await new Promise((r) => setTimeout(r, 10));
      while (Date.now() < stopAt) {
        const started = performance.now();
        const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(10_000) });
        await res.arrayBuffer();
        probes.push({ status: res.status, ms: performance.now() - started });
        await new Promise((r) => setTimeout(r, PROBE_EVERY_MS));
      }
    })();

    const deadlines: (Answered & { timeoutMs: number; id: string })[] = [];
    const deadliner = (async () => {
      while (runs.length === 0 && Date.now() < stopAt) await new Promise((r) => setTimeout(r, 10));
      for (let i = 0; Date.now() < stopAt; i++) {
        const timeoutMs = TIGHT_TIMEOUTS_MS[i % TIGHT_TIMEOUTS_MS.length] as number;
        const id = `deadline-${i}`;
        deadlines.push({ ...(await post(base, { ...body, timeoutMs }, id)), timeoutMs, id });
        await new Promise((r) => setTimeout(r, 200));
      }
    })();

    await Promise.all([...clients, prober, deadliner]);
    const runMs = runs.flatMap((r) => (r.runMs !== undefined ? [r.runMs] : []));
    const probeMs = probes.map((p) => p.ms);
    // The server's own clock: its access line's time from the request's arrival to its answer. The
    // client's clock adds this test process's own scheduling, which on a loaded machine is not the server's.
    await new Promise((r) => setTimeout(r, 1_000)); // the leader's last log lines reach its stdout
    const served = serverMs(g.pods[0]?.output() ?? '');
    const late = deadlines
      .filter((d) => d.status === 504)
      .map((d) => (served.get(d.id) ?? d.ms) - d.timeoutMs);
    const lateSeenByClient = deadlines.filter((d) => d.status === 504).map((d) => d.ms - d.timeoutMs);
    process.stdout.write(
      `one-rank leader: ${runs.length} runs of ${LONG_STEPS} steps back to back over ${LOAD_MS / 1000} s ` +
        `(run ms median ${quantile(runMs, 0.5)}, max ${Math.max(0, ...runMs)}); ` +
        `/readyz ×${probes.length}: p50 ${quantile(probeMs, 0.5).toFixed(1)} ms, ` +
        `p99 ${quantile(probeMs, 0.99).toFixed(1)} ms, max ${Math.max(0, ...probeMs).toFixed(1)} ms; ` +
        `deadlines ×${deadlines.length} (${deadlines.map((d) => `${d.timeoutMs}→${d.status}`).join(' ')}), ` +
        `504 after its deadline by at most ${Math.max(0, ...late).toFixed(1)} ms ` +
        `(the client saw ${Math.max(0, ...lateSeenByClient).toFixed(1)} ms); load ${loadavg()[0]?.toFixed(2)}\n`,
    );

    // The leader was busy: runs completed one after another, and the queue was never empty for long.
    expect(runs.every((r) => r.status === 200)).toBe(true);
    expect(runs.length).toBeGreaterThanOrEqual(CLIENTS);
    // Probes are timed on this process's clock, which on a loaded machine includes its own waits for a
    // CPU: 99 in 100 within the bound, none anywhere near the kubelet's 5 s (a blocked loop took seconds).
    for (const p of probes) {
      expect(p.status).toBe(200);
      expect(p.ms, '/readyz latency').toBeLessThan(PROBE_CEILING_MS);
    }
    expect(quantile(probeMs, 0.99), '/readyz latency, 99th percentile').toBeLessThan(BOUND_MS);
    expect(probes.length).toBeGreaterThan(10);
    // The 50 ms deadline is shorter than any run and any wait behind one: it must end in a 504 at 50 ms.
    expect(deadlines.some((d) => d.timeoutMs === 50)).toBe(true);
    for (const d of deadlines) {
      const ms = served.get(d.id);
      expect(ms, `the leader logged no access line for ${d.id}`).toBeDefined();
      if (d.timeoutMs === 50) expect(d.status, `timeoutMs 50: ${JSON.stringify(d)}`).toBe(504);
      if (d.status === 504) {
        expect(d.code).toBe('deadline_exceeded');
        expect((ms as number) - d.timeoutMs, `timeoutMs ${d.timeoutMs}`).toBeLessThan(BOUND_MS);
      } else {
        expect(d.status).toBe(200);
        expect(ms as number, `timeoutMs ${d.timeoutMs} answered 200`).toBeLessThan(d.timeoutMs + BOUND_MS);
      }
    }
  }, 240_000);
});
