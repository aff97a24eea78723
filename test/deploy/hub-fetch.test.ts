import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planFor } from '../../src/operator/planning/plan-for.js';
import { MODEL_FETCH_CONTAINER } from '../../src/operator/render/model-fetch.js';
import { withModelFetch } from '../../src/operator/status/model-fetch.js';
import { readTransformerConfig } from '../../src/runtime/families/index.js';
import { loadTransformer } from '../../src/runtime/model-loader/index.js';
import { stageRange } from '../../src/runtime/parallel-denoise/stages.js';
import type { Plan } from '../../src/shared/plan/index.js';
import { buildInference } from '../operator/support/builders.js';
import { eventually } from '../support/eventually.js';
import { type HubRepo, writeHubRepo } from './support/hub-repo.js';
import { LocalHub } from './support/hub-server.js';
import { luaHealth } from './support/lua-health.js';
import { REPO_ROOT } from './support/tools.js';

const REPOSITORY = 'tessera-test/tiny-flux';
let work: string;
let repo: HubRepo;
let hub: LocalHub;
let planPath: string;
let plan: Plan;

/** Two pods of one group, one PipeFusion stage each (pipefusion 2 over nodes with one GPU). */
function twoStagePlan(): Plan {
  const inf = buildInference('flux', {
    parallelism: {
      mode: 'Manual',
      objective: 'Latency',
      degrees: { dataParallel: 1, cfg: 1, pipefusion: 2, ring: 1, ulysses: 1 },
    },
  });
  const out = planFor(inf.spec, {
    gpusPerNode: 1,
    gpuProduct: 'NVIDIA-H100-80GB-HBM3',
    nodesAvailable: 2,
    nvlinkDomains: 0,
    source: 'FromSpec',
    description: '2 nodes with 1 GPU',
  });
  if (!('plan' in out)) throw new Error(`no plan: ${JSON.stringify(out)}`);
  return out.plan;
}

interface FetchRun {
  code: number;
  stdout: string;
  stderr: string;
  termination: string;
}

interface FetchProcess {
  /** What the process has written to stdout so far. */
  stdout: () => string;
  done: Promise<FetchRun>;
}

/** Starts `tessera fetch-model` as an init container runs it; its stdout can be watched while it runs. */
function startFetch(
  dest: string,
  options: { podIndex?: number; repository?: string; revision?: string; token?: string } = {},
): FetchProcess {
  const termination = join(work, `termination-${Math.random().toString(36).slice(2)}`);
  writeFileSync(termination, '');
  const args = [
    join(REPO_ROOT, 'dist/cli/main.js'),
    'fetch-model',
    `--repository=${options.repository ?? REPOSITORY}`,
    `--revision=${options.revision ?? 'main'}`,
    `--endpoint=${hub.endpoint}`,
    `--dest=${dest}`,
    `--plan=${planPath}`,
    `--pod-index=${options.podIndex ?? 0}`,
    '--retries=3',
    `--termination-log=${termination}`,
  ];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, HF_TOKEN: options.token ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const done = new Promise<FetchRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout,
        stderr: signal ? `${stderr}\nkilled by ${signal}` : stderr,
        termination: readFileSync(termination, 'utf8'),
      }),
    );
  });
  return { stdout: () => stdout, done };
}

function fetchInto(
  dest: string,
  options: { podIndex?: number; repository?: string; revision?: string; token?: string } = {},
): Promise<FetchRun> {
  return startFetch(dest, options).done;
}

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true })
    .flatMap((e) => {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      return e.isDirectory() ? listFiles(dir, rel) : [rel];
    })
    .filter((p) => !p.startsWith('.tessera-fetch'))
    .sort();
}

/** A pod whose fetch-model init container ended as the kubelet reports it, and the object's status. */
function statusAfter(run: FetchRun) {
  const inf = buildInference('flux', {
    model: {
      architecture: 'flux-dev',
      dtype: 'bf16',
      source: {
        hub: {
          repository: REPOSITORY,
          revision: 'main',
          endpoint: hub.endpoint,
          cacheHostPath: '/var/lib/tessera/hub-cache',
        },
      },
    },
  });
  const pod: V1Pod = {
    metadata: { name: 'flux-g0-0' },
    status: {
      initContainerStatuses: [
        {
          name: MODEL_FETCH_CONTAINER,
          image: 'tessera-runtime',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: { terminated: { exitCode: run.code, message: run.termination } },
        },
      ],
    },
  };
  const base = {
    observedGeneration: 1,
    conditions: [
      {
        type: 'Ready',
        status: 'False' as const,
        reason: 'GroupsNotReady',
        message: '0/1 groups ready',
        lastTransitionTime: '2026-12-01T00:00:00Z',
      },
      {
        type: 'Reconciling',
        status: 'True' as const,
        reason: 'Progressing',
        message: '0/1 groups ready',
        lastTransitionTime: '2026-12-01T00:00:00Z',
      },
    ],
  };
  const status = withModelFetch(base, inf, [pod], new Date('2026-12-01T00:01:00Z'));
  return { object: { ...inf, status }, find: (t: string) => status.conditions?.find((c) => c.type === t) };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'tessera-hub-'));
  repo = writeHubRepo(join(work, 'repo'));
  hub = await LocalHub.start(REPOSITORY, repo.root);
  plan = twoStagePlan();
  planPath = join(work, 'plan.json');
  writeFileSync(planPath, JSON.stringify(plan));
});

afterAll(async () => {
  await hub?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('tessera fetch-model against a hub served over HTTP', () => {
  it("fetches model_index.json, the listed components and only this pod's stage shards; a second run transfers nothing", async () => {
    hub.arm({});
    const shardsOf = (files: string[]) => files.filter((f) => repo.shards.includes(f));
    const fetched: string[][] = [];
    for (const podIndex of [0, 1]) {
      const dest = join(work, `pod${podIndex}`);
      const run = await fetchInto(dest, { podIndex });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain(`is commit ${hub.commit}`);
      const files = listFiles(dest);
      for (const f of files) expect(readFileSync(join(dest, f)), f).toEqual(readFileSync(join(repo.root, f)));
      for (const extra of repo.extras) expect(files).not.toContain(extra);
      expect(files).toEqual(
        expect.arrayContaining([
          'model_index.json',
          'scheduler/scheduler_config.json',
          'transformer/config.json',
          'transformer/diffusion_pytorch_model.safetensors.index.json',
        ]),
      );
      fetched.push(shardsOf(files));
      // The runtime loads this pod's stage from what was fetched, and nothing more was needed.
      const config = readTransformerConfig(dest);
      const loaded = loadTransformer(dest, { blocks: stageRange(config, 2, podIndex) });
      expect(loaded.family).toBe('flux');
    }
    const [first = [], second = []] = fetched;
    expect(first.length).toBeGreaterThan(0);
    expect(second.length).toBeGreaterThan(0);
    expect(first.filter((s) => second.includes(s))).toEqual([]);
    expect([...first, ...second].sort()).toEqual([...repo.shards].sort());

    hub.arm({});
    const again = await fetchInto(join(work, 'pod0'), { podIndex: 0 });
    expect(again.code, again.stderr).toBe(0);
    expect(hub.requests).toEqual([]);
    expect(again.stdout).toMatch(/0 file\(s\) fetched .* already in the cache/);
    // Three CLI processes and two model loads: about 50 s on a loaded 2-core machine.
  }, 180_000);

  it('shares one node cache between two pods fetching at once: one downloads, the other waits and reuses', async () => {
    // The first pod's file downloads are held open until the second pod has said it waits, so the two
    // really overlap whatever the machine's load (two processes started together often did not).
    let release = () => {};
    hub.arm({ holdFilesUntil: new Promise<void>((r) => (release = r)) });
    const dest = join(work, 'shared-node-cache');
    const a = startFetch(dest, { podIndex: 0 });
    try {
      await eventually(
        'the first pod is downloading',
        async () => (hub.requests.length > 0 ? true : undefined),
        {
          timeoutMs: 120_000,
          describe: async () => a.stdout(),
        },
      );
      const b = startFetch(dest, { podIndex: 0 });
      await eventually(
        'the second pod waits for the first',
        async () =>
          b.stdout().includes('another pod on this node is downloading into the same cache')
            ? true
            : undefined,
        { timeoutMs: 120_000, describe: async () => b.stdout() },
      );
      release();
      const [ra, rb] = await Promise.all([a.done, b.done]);
      expect(ra.code, ra.stderr).toBe(0);
      expect(rb.code, rb.stderr).toBe(0);
      expect(rb.stdout).toMatch(/done: 0 file\(s\) fetched/);
    } finally {
      release();
    }
    const perFile = new Map<string, number>();
    for (const r of hub.requests) perFile.set(r.path, (perFile.get(r.path) ?? 0) + 1);
    expect([...perFile.values()].every((n) => n === 1)).toBe(true);
    expect(perFile.size).toBe(listFiles(join(work, 'pod0')).length);
  }, 300_000);

  it('resumes a file whose connection dropped mid-way with a Range request, fetching only the rest', async () => {
    const dest = join(work, 'dropped');
    const sizes = repo.shards.map((s) => ({ s, n: readFileSync(join(repo.root, s)).length }));
    const mine = new Set(listFiles(join(work, 'pod0')).filter((f) => repo.shards.includes(f)));
    const target = sizes.filter((x) => mine.has(x.s)).sort((a, b) => b.n - a.n)[0];
    if (!target) throw new Error('pod 0 fetched no shard');
    const afterBytes = Math.floor(target.n / 2);
    hub.arm({ dropOnce: { path: target.s, afterBytes } });
    const run = await fetchInto(dest, { podIndex: 0 });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`resuming at byte ${afterBytes}`);
    const served = hub.requests.filter((r) => r.path === target.s);
    expect(served.map((r) => [r.rangeStart, r.status, r.dropped])).toEqual([
      [0, 200, true],
      [afterBytes, 206, false],
    ]);
    const afterDrop = served[1]?.bytesSent ?? Number.POSITIVE_INFINITY;
    console.log(
      `${target.s}: ${target.n} bytes; the connection dropped after ${afterBytes}; the resumed request sent ${afterDrop}`,
    );
    expect(afterDrop).toBe(target.n - afterBytes);
    expect(afterDrop).toBeLessThan(target.n);
    expect(readFileSync(join(dest, target.s))).toEqual(readFileSync(join(repo.root, target.s)));
    expect(existsSync(join(dest, `${target.s}.partial`))).toBe(false);
  });

  it('deletes a file whose bytes differ from the metadata and stalls the object with ChecksumMismatch', async () => {
    const dest = join(work, 'corrupt');
    const target = repo.shards[0] ?? '';
    hub.arm({ corrupt: target });
    const run = await fetchInto(dest, { podIndex: 0 });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`ChecksumMismatch: ${target}: sha256`);
    expect(run.termination).toMatch(/^ChecksumMismatch: /);
    expect(existsSync(join(dest, target))).toBe(false);
    expect(existsSync(join(dest, `${target}.partial`))).toBe(false);
    const { object, find } = statusAfter(run);
    expect(find('ModelFetched')).toMatchObject({ status: 'False', reason: 'ChecksumMismatch' });
    expect(find('Stalled')).toMatchObject({ status: 'True', reason: 'ChecksumMismatch' });
    expect(find('Ready')).toMatchObject({ status: 'False', reason: 'ChecksumMismatch' });
    expect(find('Reconciling')).toBeUndefined();
    expect((await luaHealth(object)).status).toBe('Degraded');
  });

  it('answers 401 without the token with HubUnauthorized naming tokenSecretRef, and fetches with it', async () => {
    hub.arm({ token: 'hf_test_token' });
    const denied = await fetchInto(join(work, 'auth'), { podIndex: 0 });
    expect(denied.code).toBe(1);
    expect(denied.termination).toMatch(/^HubUnauthorized: .*401.*tokenSecretRef/);
    const { find } = statusAfter(denied);
    expect(find('Stalled')).toMatchObject({ status: 'True', reason: 'HubUnauthorized' });
    expect(find('Stalled')?.message).toContain('pod flux-g0-0 could not fetch tessera-test/tiny-flux@main');

    const allowed = await fetchInto(join(work, 'auth'), { podIndex: 0, token: 'hf_test_token' });
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(statusAfter(allowed).find('ModelFetched')).toMatchObject({ status: 'True', reason: 'Fetched' });
  });

  it('answers 404 for an unknown repository or revision with HubNotFound naming the fields to check', async () => {
    hub.arm({});
    for (const options of [{ repository: 'tessera-test/no-such-model' }, { revision: 'no-such-branch' }]) {
      const run = await fetchInto(join(work, 'missing'), { podIndex: 0, ...options });
      expect(run.code).toBe(1);
      expect(run.termination).toMatch(
        /^HubNotFound: .*404.*spec\.model\.source\.hub\.repository and \.revision/,
      );
      expect(statusAfter(run).find('Stalled')).toMatchObject({ status: 'True', reason: 'HubNotFound' });
    }
  });
});
