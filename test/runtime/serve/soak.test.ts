/**
 * Soak: a serving group of 2 pods × 2 ranks (the operator's pod template, CPU, pp2·u2) takes a bounded
 * stream of requests from several clients while the test kills a rank, then a whole pod, then stops the
 * group with SIGTERM. The test plays the operator's part: when a group's pods have ended it starts a new
 * group on the same ports (RecreateGroup), as the failure policy and the StatefulSet would.
 *
 * Every request must end with exactly one answer: a result equal to the one-process result, or a 429,
 * 503 or 504 with a code and a reason. A request a server took and never answered (reset, hang-up,
 * silence) is lost; a wrong result or another status fails the test too. After each fault the group
 * must come back Ready and serve results again. It prints what was sent, the answers by kind, the
 * faults and how long each took to heal, and the lost count.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packLatents } from '../../../src/runtime/models/flux/packing.js';
import { FLUX_TXT7, oneProcessResult, writeInputs } from '../parallel/denoise-fixtures.js';
import { freePort, maxRelativeError } from '../parallel/harness.js';
import { workerPids } from '../parallel/pod-group.js';
import {
  alive,
  fixtureRequestBody,
  groupPids,
  killGroup,
  type ServingGroup,
  startServingGroup,
  waitAllReady,
} from './serving-group.js';
import { runClient, type Sent } from './soak-clients.js';

/** The bounded stream: how many requests, from how many clients, how fast, with which deadlines. */
const STREAM = {
  requests: 300,
  clients: 4,
  /** Every tenth request asks for a deadline no run meets (a 504 must come at it, not after the run). */
  tightTimeoutMs: 50,
  timeoutMs: 120_000,
  paceMs: 150,
  /** The most a client waits between requests, whatever Retry-After says. */
  maxPauseMs: 5_000,
} as const;
/** A short queue, so that the clients together overfill it now and then (429). */
const QUEUE_SIZE = 2;
const COMM_TIMEOUT_MS = 20_000;
const READY_WITHIN_MS = 180_000;
/** After the first pod of a group ended, how long the others get before the "operator" kills them. */
const GROUP_END_WITHIN_MS = COMM_TIMEOUT_MS + 15_000;
/** After a group's launchers have exited, how long their ranks may take to notice and exit. */
const ORPHAN_EXIT_WITHIN_MS = 5_000;
/** A fault is injected once this many answers have come in. */
const FAULT_AFTER_ANSWERS = [50, 120, 190] as const;
const MAX_RELATIVE_ERROR = 1e-5;

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-soak-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface GroupEnd {
  generation: number;
  /** Each pod's exit status, or the signal that ended it. */
  exitCodes: (number | string | null)[];
  /** From the fault to the last pod's exit. */
  downMs: number;
}

/**
 * The operator's part: keeps a group on the two serving ports, starting a new one whenever every pod of
 * the current one has ended (killing stragglers after GROUP_END_WITHIN_MS, as deleting the pods would).
 */
class GroupKeeper {
  group: ServingGroup | undefined;
  generation = 0;
  readonly readyAt: number[] = [];
  readonly readyMs: number[] = [];
  private stopping = false;
  private loop: Promise<void> | undefined;
  private readonly ended: ((end: GroupEnd) => void)[] = [];
  private faultAt = 0;

  constructor(private readonly ports: readonly [number, number]) {}

  async start(): Promise<void> {
    await this.startGroup();
    this.loop = this.keep();
  }

  /** Resolves when the current group has ended (every pod exited) after a fault injected now. */
  nextEnd(): Promise<GroupEnd> {
    this.faultAt = Date.now();
    return new Promise((resolve) => this.ended.push(resolve));
  }

  /** Resolves once generation `n` is Ready. */
  async ready(n: number): Promise<number> {
    const deadline = Date.now() + READY_WITHIN_MS + 60_000;
    while (this.readyMs.length <= n) {
      if (Date.now() > deadline) throw new Error(`generation ${n} never became Ready`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return this.readyMs[n] as number;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    killGroup(this.group);
    await this.loop;
  }

  output(): string {
    return (this.group?.pods ?? []).map((p) => `--- pod ${p.pod}\n${p.output().slice(-4000)}`).join('\n');
  }

  private async startGroup(): Promise<void> {
    const started = Date.now();
    this.group = await startServingGroup(dir, COMM_TIMEOUT_MS, {
      ports: this.ports,
      env: { TESSERA_SERVING_QUEUE_SIZE: String(QUEUE_SIZE) },
    });
    await waitAllReady(this.group, READY_WITHIN_MS);
    this.readyAt.push(Date.now());
    this.readyMs.push(Date.now() - started);
  }

  private async keep(): Promise<void> {
    while (!this.stopping) {
      const group = this.group as ServingGroup;
      const exits = group.pods.map((p) => p.exited);
      await Promise.race(exits);
      const straggling = setTimeout(() => killGroup(group), GROUP_END_WITHIN_MS);
      const codes = (await Promise.all(exits)).map((e) => e.code ?? e.signal);
      clearTimeout(straggling);
      if (this.stopping) return;
      this.ended.shift()?.({
        generation: this.generation,
        exitCodes: codes,
        downMs: Date.now() - this.faultAt,
      });
      if (process.env.TESSERA_TEST_DUMP) {
        for (const p of group.pods) {
          writeFileSync(
            join(process.env.TESSERA_TEST_DUMP, `soak-g${this.generation}-pod${p.pod}.log`),
            p.output(),
          );
        }
      }
      this.generation++;
      await this.startGroup();
    }
  }
}

interface Fault {
  name: string;
  inject: (group: ServingGroup) => void;
  /** Whether the pods end with exit status 0 (a drain) or not (a failure). */
  clean: boolean;
}

const FAULTS: Fault[] = [
  {
    name: 'SIGKILL rank 1 (pod 0, beside the leader)',
    inject: (g) => process.kill(workerPids(g.pods[0]?.output() ?? '').get(1) as number, 'SIGKILL'),
    clean: false,
  },
  {
    name: 'SIGKILL pod 1 (its launcher and both ranks)',
    inject: (g) => {
      const pod = g.pods[1];
      for (const pid of [pod?.child.pid, ...workerPids(pod?.output() ?? '').values()]) {
        if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
      }
    },
    clean: false,
  },
  {
    name: 'SIGTERM both pods (the kubelet stopping them)',
    inject: (g) => {
      for (const p of g.pods) p.child.kill('SIGTERM');
    },
    clean: true,
  },
];

function kindOf(sent: Sent): string {
  const o = sent.outcome;
  switch (o.kind) {
    case 'ok':
      return o.error <= MAX_RELATIVE_ERROR ? '200 result' : '200 WRONG result';
    case 'refusal':
      return `${o.status} ${o.code}`;
    case 'unexpected':
      return `UNEXPECTED ${o.status}`;
    case 'lost':
      return 'LOST';
  }
}

describe('soak: a 2 pods × 2 ranks serving group under a bounded stream and faults', () => {
  it('answers every request exactly once, correctly or with a reason, and is Ready again after each fault', async () => {
    const inputs = writeInputs(FLUX_TXT7, dir, 1);
    const expected = packLatents(await oneProcessResult(FLUX_TXT7, inputs)).toFloat32Array();
    const keeper = new GroupKeeper([await freePort(), await freePort()]);
    const begun = Date.now();
    const answers: Sent[] = [];
    const faults: { name: string; at: number; end: GroupEnd; readyMs: number }[] = [];
    try {
      await keeper.start();
      const leader = (keeper.group as ServingGroup).leader;
      const requests = Array.from({ length: STREAM.requests }, (_, i) => ({
        id: `soak-${i}`,
        timeoutMs: i % 10 === 9 ? STREAM.tightTimeoutMs : STREAM.timeoutMs,
      }));
      const clients = Array.from({ length: STREAM.clients }, (_, c) =>
        runClient(
          requests.filter((_, i) => i % STREAM.clients === c),
          {
            leader,
            body: fixtureRequestBody(),
            errorOf: (latents) => maxRelativeError(latents, expected),
            patienceMs: STREAM.timeoutMs + 30_000,
            paceMs: STREAM.paceMs,
            maxPauseMs: STREAM.maxPauseMs,
            onAnswer: (sent) => answers.push(sent),
          },
        ),
      );
      const streamDone = Promise.all(clients);

      for (const [i, fault] of FAULTS.entries()) {
        const after = FAULT_AFTER_ANSWERS[i] as number;
        while (answers.length < after) await new Promise((r) => setTimeout(r, 50));
        const group = keeper.group as ServingGroup;
        const pids = groupPids(group);
        const ended = keeper.nextEnd();
        const at = Date.now();
        fault.inject(group);
        const end = await ended;
        // An orphaned rank ends on its launcher's IPC disconnect; give it a moment to do so and be reaped.
        const gone = Date.now() + ORPHAN_EXIT_WITHIN_MS;
        while (pids.some(alive) && Date.now() < gone) await new Promise((r) => setTimeout(r, 100));
        for (const pid of pids) {
          expect(
            alive(pid),
            `${fault.name}: process ${pid} still running ${ORPHAN_EXIT_WITHIN_MS} ms after`,
          ).toBe(false);
        }
        const readyMs = await keeper.ready(i + 1);
        faults.push({ name: fault.name, at, end, readyMs });
        if (fault.clean) {
          expect(end.exitCodes, `${fault.name}\n${keeper.output()}`).toEqual([0, 0]);
        } else {
          for (const code of end.exitCodes) expect(code, fault.name).not.toBe(0);
        }
      }
      await streamDone;
    } finally {
      await keeper.stop();
    }

    const seconds = ((Date.now() - begun) / 1000).toFixed(0);
    const byKind = new Map<string, number>();
    for (const a of answers) byKind.set(kindOf(a), (byKind.get(kindOf(a)) ?? 0) + 1);
    const retried = answers.reduce((n, a) => n + a.refusedConnections, 0);
    const lost = answers.filter((a) => a.outcome.kind === 'lost');
    process.stdout.write(
      `soak: ${answers.length} of ${STREAM.requests} requests sent by ${STREAM.clients} clients over ${seconds} s; answered: ` +
        `${[...byKind]
          .sort()
          .map(([k, n]) => `${k} ${n}`)
          .join(', ')}; ` +
        `refused connections retried ${retried}; lost ${lost.length}\n` +
        `soak faults: first Ready after ${(keeper.readyMs[0] ?? 0) / 1000} s; ` +
        faults
          .map(
            (f) =>
              `${f.name}: group ended in ${(f.end.downMs / 1000).toFixed(1)} s (exits ${f.end.exitCodes.join(', ')}), ` +
              `Ready again after ${(f.readyMs / 1000).toFixed(1)} s`,
          )
          .join('; ') +
        '\n',
    );
    for (const a of lost) process.stdout.write(`lost: ${a.id}: ${(a.outcome as { cause: string }).cause}\n`);

    // Exactly one answer per request, and every answer an acceptable one.
    expect(new Set(answers.map((a) => a.id)).size).toBe(STREAM.requests);
    expect(answers).toHaveLength(STREAM.requests);
    expect(lost).toEqual([]);
    const bad = answers.filter((a) => a.outcome.kind === 'unexpected' || kindOf(a).includes('WRONG'));
    expect(bad).toEqual([]);
    // Each fault ran into live traffic and the group served results again after each.
    expect(faults).toHaveLength(FAULTS.length);
    for (const [i, f] of faults.entries()) {
      const back = keeper.readyAt[i + 1] as number;
      const nextFault = faults[i + 1]?.at ?? Number.POSITIVE_INFINITY;
      const served = answers.filter(
        (a) => a.outcome.kind === 'ok' && a.sentAt >= back && a.answeredAt <= nextFault,
      );
      expect(served.length, `results between "${f.name}" healing and the next fault`).toBeGreaterThan(0);
    }
    expect(byKind.get('200 result') ?? 0).toBeGreaterThan(0);
    expect([...byKind.keys()].some((k) => k.startsWith('504'))).toBe(true);
  }, 900_000);
});
