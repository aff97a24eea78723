/**
 * The pod side of the contract: env and plan errors name the variable or field; the degree flags of
 * `tessera denoise` (ours and xDiT's); the supervisor ends the pod as soon as one worker dies; the plan
 * is checked against the checkpoint and the request with reasons that name the degree.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FluxTransformerConfig } from '../../../src/runtime/checkpoint/flux-config.js';
import { parallelFromFlags } from '../../../src/runtime/launcher/degree-flags.js';
import { localPlan } from '../../../src/runtime/launcher/local-group.js';
import { superviseWorkers } from '../../../src/runtime/launcher/supervisor.js';
import {
  checkDegreesFitModel,
  checkDegreesFitRequest,
} from '../../../src/runtime/parallel-denoise/checkpoint-fit.js';
import { balancedStages, blockParameters, stageRange } from '../../../src/runtime/parallel-denoise/stages.js';
import { readPodEnvironment } from '../../../src/runtime/rank/env-config.js';
import { ranksOfPod, readPlanFile } from '../../../src/runtime/rank/plan-file.js';
import { log } from '../../../src/shared/log.js';
import type { Degrees } from '../../../src/shared/plan/index.js';
import { FLUX_FIXTURE_FACTS } from './denoise-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-launcher-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const degrees = (d: Partial<Degrees>): Degrees => ({
  dataParallel: 1,
  cfg: 1,
  pipefusion: 1,
  ring: 1,
  ulysses: 1,
  ...d,
});
const model = FLUX_FIXTURE_FACTS;

const podEnv = {
  TESSERA_POD_INDEX: '1',
  TESSERA_PODS_PER_GROUP: '2',
  TESSERA_WORLD_SIZE: '4',
  TESSERA_GPUS_PER_POD: '2',
  TESSERA_PLAN_PATH: '/etc/tessera/plan/plan.json',
  TESSERA_RENDEZVOUS_ADDR: 'g0-0.peers.ns.svc',
};

describe('pod environment', () => {
  it('reads the contract, with the default rendezvous port', () => {
    const env = readPodEnvironment(podEnv);
    expect(env).toMatchObject({ podIndex: 1, worldSize: 4, gpusPerPod: 2, rendezvousPort: 29500 });
  });
  it('names the variable that is missing or malformed', () => {
    expect(() => readPodEnvironment({ ...podEnv, TESSERA_PLAN_PATH: '' })).toThrow(
      /TESSERA_PLAN_PATH is not set/,
    );
    expect(() => readPodEnvironment({ ...podEnv, TESSERA_WORLD_SIZE: 'four' })).toThrow(
      /TESSERA_WORLD_SIZE must be an integer >= 1, got 'four'/,
    );
    expect(() => readPodEnvironment({ ...podEnv, TESSERA_POD_INDEX: '2' })).toThrow(
      /TESSERA_POD_INDEX is 2 but the group has 2 pods/,
    );
  });
});

describe('plan file', () => {
  const write = (name: string, value: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
    return path;
  };
  const plan = {
    ...localPlan(degrees({ ulysses: 2, pipefusion: 2 }), { patches: 2, warmupSteps: 1 }, model),
  };
  const twoPods = {
    ...plan,
    podsPerGroup: 2,
    gpusPerPod: 2,
    ranks: plan.ranks.map((r) => ({ rank: r.rank, pod: Math.floor(r.rank / 2), localRank: r.rank % 2 })),
  };

  it('gives each pod its ranks in local order', () => {
    const path = write('ok.json', twoPods);
    expect(
      ranksOfPod(readPlanFile(path), readPodEnvironment({ ...podEnv, TESSERA_PLAN_PATH: path })).map(
        (r) => r.rank,
      ),
    ).toEqual([2, 3]);
  });
  it('rejects what an operator bug or an old runtime would misread, naming the field', () => {
    expect(() => readPlanFile(write('v2.json', { ...twoPods, schemaVersion: 2 }))).toThrow(
      /schemaVersion is 2/,
    );
    expect(() =>
      readPlanFile(write('deg.json', { ...twoPods, degrees: { ...twoPods.degrees, ring: 0 } })),
    ).toThrow(/degrees.ring must be an integer >= 1/);
    expect(() => readPlanFile(write('bad.json', '{'))).toThrow(/is not JSON/);
    expect(() =>
      readPlanFile(
        write('vae.json', { ...twoPods, pipeline: { ...twoPods.pipeline, vaeDecode: { ranks: 3 } } }),
      ),
    ).toThrow(/pipeline.vaeDecode.ranks must be a positive divisor of the 4 ranks/);
    expect(() => readPlanFile(write('dev.json', { ...twoPods, device: 'tpu' }))).toThrow(
      /device must be "cuda" or "cpu", got "tpu"/,
    );
    const path = write('ok2.json', twoPods);
    expect(() =>
      ranksOfPod(
        readPlanFile(path),
        readPodEnvironment({ ...podEnv, TESSERA_WORLD_SIZE: '8', TESSERA_PLAN_PATH: path }),
      ),
    ).toThrow(/multiply to 4 ranks but TESSERA_WORLD_SIZE is 8/);
  });
});

describe('tessera denoise degree flags', () => {
  it('accepts our names and xDiT names, with xDiT defaults for patches', () => {
    expect(parallelFromFlags({ ulysses: '2', ring_degree: '2' })?.degrees).toEqual(
      degrees({ ulysses: 2, ring: 2 }),
    );
    const pp = parallelFromFlags({
      pipefusion_parallel_degree: '2',
      use_cfg_parallel: true,
      warmup_steps: '3',
    });
    expect(pp).toEqual({
      degrees: degrees({ pipefusion: 2, cfg: 2 }),
      pipeline: { patches: 2, warmupSteps: 3 },
    });
    expect(parallelFromFlags({ 'data-parallel': '1' })).toBeNull();
  });
  it('names a bad or contradicting flag', () => {
    expect(() => parallelFromFlags({ ulysses: '2', ulysses_degree: '4' })).toThrow(
      /--ulysses 2 and --ulysses_degree 4 disagree/,
    );
    expect(() => parallelFromFlags({ ring: '0' })).toThrow(/--ring must be an integer >= 1/);
    expect(() => parallelFromFlags({ 'pipeline-patches': '4' })).toThrow(/needs --pipefusion > 1/);
  });
});

describe('plan against checkpoint and request', () => {
  const flux = { label: 'Flux', heads: 4, blocks: 4, trueCfg: false };
  const pipeline = { patches: 1, warmupSteps: 1 };
  it('names the degree that does not fit the checkpoint', () => {
    expect(() => checkDegreesFitModel(degrees({ ulysses: 3 }), flux, pipeline)).toThrow(
      /degrees.ulysses = 3 does not divide the checkpoint's 4 attention heads/,
    );
    expect(() =>
      checkDegreesFitModel(degrees({ pipefusion: 5 }), flux, { patches: 5, warmupSteps: 1 }),
    ).toThrow(/degrees.pipefusion = 5 exceeds the checkpoint's 4 transformer blocks/);
    expect(() => checkDegreesFitModel(degrees({ cfg: 2 }), flux, pipeline)).toThrow(
      /Flux is guidance-distilled/,
    );
  });
  it('names the degree that does not fit the request', () => {
    const request = { batch: 1, imageTokens: 64, tokenRows: 8, textTokens: 7, steps: 4, trueCfg: true };
    expect(() => checkDegreesFitRequest(degrees({ ring: 3 }), request, pipeline)).toThrow(
      /ulysses × ring = 3 does not divide the 8 rows/,
    );
    expect(() => checkDegreesFitRequest(degrees({ dataParallel: 2 }), request, pipeline)).toThrow(
      /exceeds the batch of 1/,
    );
    expect(() =>
      checkDegreesFitRequest(degrees({ pipefusion: 2, ulysses: 2 }), request, { patches: 3, warmupSteps: 1 }),
    ).toThrow(/pipeline.patches = 3 must cut the 8 token rows/);
  });
  it('cuts stages where the heaviest is lightest: by count for alike blocks, by weight for Flux', () => {
    expect(balancedStages([1, 1, 1, 1, 1, 1, 1], 3)).toEqual([
      { fromBlock: 0, toBlock: 2 },
      { fromBlock: 2, toBlock: 4 },
      { fromBlock: 4, toBlock: 7 },
    ]);
    expect(balancedStages([4, 1, 1, 1, 1], 2)).toEqual([
      { fromBlock: 0, toBlock: 1 },
      { fromBlock: 1, toBlock: 5 },
    ]);
    expect(() => balancedStages([1, 1], 3)).toThrow(/3 pipeline stages cannot each get one of 2 blocks/);
    // FLUX.1's real shapes (19 double + 38 single blocks, 24 heads × 128), from the manifest alone.
    const flux1: FluxTransformerConfig = {
      className: 'FluxTransformer2DModel',
      patchSize: 1,
      inChannels: 64,
      outChannels: 64,
      numLayers: 19,
      numSingleLayers: 38,
      attentionHeadDim: 128,
      numAttentionHeads: 24,
      jointAttentionDim: 4096,
      pooledProjectionDim: 768,
      guidanceEmbeds: true,
      axesDimsRope: [16, 56, 56],
    };
    const params = blockParameters(flux1);
    const total = params.reduce((a, b) => a + b, 0);
    const [first, second] = [0, 1].map((s) => stageRange(flux1, 2, s));
    expect(first).toEqual({ fromBlock: 0, toBlock: second?.fromBlock });
    expect(second?.toBlock).toBe(57);
    const share = params.slice(0, second?.fromBlock).reduce((a, b) => a + b, 0) / total;
    process.stdout.write(
      `FLUX.1 pp2: stage 0 holds blocks [0, ${second?.fromBlock}) = ${(100 * share).toFixed(1)}% of block parameters\n`,
    );
    expect(Math.abs(share - 0.5)).toBeLessThan(0.03);
  });
});

describe('supervisor', () => {
  const node = (code: string) => ({ command: process.execPath, args: ['-e', code], env: process.env });
  it('exits non-zero as soon as one worker dies, stopping the others', async () => {
    const started = Date.now();
    const code = await superviseWorkers(
      [
        { rank: 0, localRank: 0, ...node('setTimeout(() => {}, 60000)') },
        { rank: 1, localRank: 1, ...node('setTimeout(() => process.exit(7), 200)') },
      ],
      { graceMs: 2000, logger: log, forwardSignals: [] },
    );
    expect(code).toBe(7);
    expect(Date.now() - started).toBeLessThan(5000);
  });
  it('exits 0 when every worker finishes', async () => {
    const code = await superviseWorkers(
      [0, 1].map((r) => ({ rank: r, localRank: r, ...node('process.exit(0)') })),
      { graceMs: 1000, logger: log, forwardSignals: [] },
    );
    expect(code).toBe(0);
  });
  it('kills a worker that ignores SIGTERM after the grace period', async () => {
    const started = Date.now();
    const code = await superviseWorkers(
      [
        { rank: 0, localRank: 0, ...node("process.on('SIGTERM', () => {}); setTimeout(() => {}, 60000)") },
        { rank: 1, localRank: 1, ...node('setTimeout(() => process.exit(3), 300)') },
      ],
      { graceMs: 500, logger: log, forwardSignals: [] },
    );
    expect(code).toBe(3);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
