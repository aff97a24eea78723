/**
 * A rank that dies from an exception tells its launcher why: the launcher's result, its log and the
 * pod's termination message name the rank and the reason with its causes — for a real group whose
 * first stage throws inside a step (a bad input only the patch embedding sees), and for any error class,
 * awaited or not (a stand-in rank that throws a TypeError, or leaves a rejection unawaited).
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type LaunchResult, launchPod } from '../../../src/runtime/launcher/launch.js';
import { localPlan, modelFacts } from '../../../src/runtime/launcher/local-group.js';
import { NamedTensors } from '../../../src/runtime/model-loader/index.js';
import { ops, type Tensor } from '../../../src/runtime/native/index.js';
import { writeSafetensors } from '../../../src/runtime/native/safetensors-writer.js';
import { fileLogger } from '../../../src/shared/log.js';
import type { Degrees, ModelFacts, PipelineSettings } from '../../../src/shared/plan/index.js';
import { RUNTIME_ENV } from '../../../src/shared/runtime-contract.js';
import { testSecretFile } from '../../support/group-secret.js';
import { CLI, FLUX_FIXTURE_FACTS, modelDir, REFERENCE_DIR, SD3_TXT7 } from './denoise-fixtures.js';
import { freePort } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-rank-failure-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface PodRun {
  name: string;
  degrees: Degrees;
  pipeline: PipelineSettings;
  model: ModelFacts;
  modelPath?: string;
  env?: Record<string, string>;
  /** The worker program after `node --import tsx`. */
  worker: string[];
}

/**
 * One pod's launcher (launchPod, as `tessera worker` runs it) over two CPU ranks, with the termination
 * message file a kubelet provides (the launcher writes only one that exists) and the logs in files.
 */
async function launch(run: PodRun): Promise<LaunchResult & { termination: string; launcherLog: string }> {
  const plan = join(dir, `${run.name}-plan.json`);
  writeFileSync(plan, JSON.stringify(localPlan(run.degrees, run.pipeline, run.model)));
  const termination = join(dir, `${run.name}-termination-log`);
  writeFileSync(termination, '');
  const launcherLog = join(dir, `${run.name}-launcher.log`);
  const files: number[] = [];
  try {
    const result = await launchPod({
      env: {
        ...process.env,
        TESSERA_LOG_LEVEL: 'info',
        [RUNTIME_ENV.podIndex]: '0',
        [RUNTIME_ENV.podsPerGroup]: '1',
        [RUNTIME_ENV.gpusPerPod]: '2',
        [RUNTIME_ENV.worldSize]: '2',
        [RUNTIME_ENV.planPath]: plan,
        [RUNTIME_ENV.rendezvousAddress]: '127.0.0.1',
        [RUNTIME_ENV.rendezvousPort]: String(await freePort()),
        [RUNTIME_ENV.modelPath]: run.modelPath ?? '',
        [RUNTIME_ENV.groupSecretFile]: testSecretFile(),
        ...run.env,
      },
      workerCommand: process.execPath,
      workerArgs: ['--import', 'tsx', ...run.worker],
      device: { kind: 'cpu' },
      graceMs: 5_000,
      terminationLog: termination,
      logger: fileLogger(launcherLog),
      workerOutput: (rank) => {
        const fd = openSync(join(dir, `${run.name}-rank-${rank}.log`), 'a');
        files.push(fd);
        return fd;
      },
    });
    return {
      ...result,
      termination: readFileSync(termination, 'utf8'),
      launcherLog: readFileSync(launcherLog, 'utf8'),
    };
  } finally {
    for (const fd of files) closeSync(fd);
  }
}

describe('a rank that throws inside a step', () => {
  it("the launcher's result, log and termination message name the rank and its reason", async () => {
    // SD3's position table covers 16×16 patches (pos_embed_max_size 16); latents 48 rows high (24 patch
    // rows) pass every check before the loop and fail in the first step's patch embedding, which only
    // PipeFusion's first stage (rank 0) runs. Rank 1 only sees its peer go.
    const file = NamedTensors.read(join(REFERENCE_DIR, SD3_TXT7.file));
    const tensors = new Map<string, Tensor>();
    for (const name of [
      'prompt_embeds',
      'pooled_prompt_embeds',
      'negative_prompt_embeds',
      'negative_pooled_prompt_embeds',
    ]) {
      tensors.set(name, file.required(name, 'fixture input'));
    }
    const latents = file.required('latents', 'fixture input');
    tensors.set('latents', ops.concat([latents, latents, latents], 2));
    const inputs = join(dir, 'tall.safetensors');
    writeSafetensors(inputs, tensors);
    const model = modelDir(SD3_TXT7);
    const run = await launch({
      name: 'step',
      degrees: { dataParallel: 1, cfg: 1, pipefusion: 2, ring: 1, ulysses: 1 },
      pipeline: { patches: 2, warmupSteps: 1 },
      model: modelFacts(model),
      modelPath: model,
      env: { TESSERA_COMM_TIMEOUT_MS: '20000' },
      worker: [
        CLI,
        'worker',
        '--device',
        'cpu',
        '--inputs',
        inputs,
        '--steps',
        '2',
        '--guidance-scale',
        '5',
        '-o',
        join(dir, 'never.safetensors'),
      ],
    });
    expect(run.code).toBe(1);
    expect(run.failure).toMatch(
      /^rank 0: latent grid 24×8 patches exceeds pos_embed_max_size 16: use a smaller image/,
    );
    expect(run.termination).toBe(`RankFailed: ${run.failure}`);
    expect(run.launcherLog).toContain(`the workers failed: ${run.failure}`);
  }, 120_000);
});

describe('a rank that throws any error, awaited or not', () => {
  const standIn = (name: string, mode: string) =>
    launch({
      name,
      degrees: { dataParallel: 1, cfg: 1, pipefusion: 1, ring: 1, ulysses: 2 },
      pipeline: { patches: 1, warmupSteps: 0 },
      model: FLUX_FIXTURE_FACTS,
      env: { FAILING_RANK: '1', FAILING_RANK_MODE: mode },
      worker: [join(import.meta.dirname, 'failing-rank-worker.ts')],
    });
  const causes = '; caused by: connect ECONNREFUSED 127.0.0.1:1; caused by: the peer is not listening';

  it('a TypeError keeps its class and its cause chain', async () => {
    const run = await standIn('type-error', 'throw');
    expect(run.code).toBe(1);
    expect(run.failure).toBe(
      `rank 1: TypeError: scaledAdd y: expected a 'cuda' tensor, got one on 'cpu'${causes}`,
    );
    expect(run.termination).toBe(`RankFailed: ${run.failure}`);
  }, 60_000);

  it('a rejection nobody awaited ends the rank with its reason', async () => {
    const run = await standIn('unawaited', 'unawaited');
    expect(run.code).toBe(1);
    expect(run.failure).toBe(`rank 1: RangeError: step 1: offset 96 is past the 64-byte message${causes}`);
  }, 60_000);
});
