/**
 * A GPU plan (what the operator writes: one GPU per rank) through `tessera worker` on this machine:
 * without a usable GPU the pod's launcher — and a worker started directly — end at once, before any
 * rendezvous or weight, with one line naming what is missing; `--device cpu` runs the same plan on CPU
 * and matches the one-process denoiser.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localPlan } from '../../../src/runtime/launcher/local-group.js';
import { NamedTensors } from '../../../src/runtime/model-loader/index.js';
import { checkGpuRuntime, cudaStatus } from '../../../src/runtime/native/index.js';
import { RUNTIME_ENV } from '../../../src/shared/runtime-contract.js';
import { testSecretEnv } from '../../support/group-secret.js';
import {
  FLUX_FIXTURE_FACTS,
  FLUX_TXT7,
  modelDir,
  oneProcessResult,
  runCli,
  writeInputs,
} from '../parallel/denoise-fixtures.js';
import { freePort, maxRelativeError } from '../parallel/harness.js';

const status = cudaStatus();
if (status.available) {
  console.warn(`gpu-plan: the no-GPU cases are skipped — this machine has ${status.devices.length} GPU(s)`);
}

let dir = '';
let inputs = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-gpu-plan-'));
  inputs = writeInputs(FLUX_TXT7, dir, 1);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One pod running 2 ranks (Ulysses 2) of a plan without a device field, as the operator writes it. */
async function podEnv(): Promise<Record<string, string>> {
  const { device: _, ...plan } = localPlan(
    { dataParallel: 1, cfg: 1, pipefusion: 1, ring: 1, ulysses: 2 },
    { patches: 1, warmupSteps: 1 },
    FLUX_FIXTURE_FACTS,
  );
  const planPath = join(dir, 'plan.json');
  writeFileSync(planPath, JSON.stringify(plan));
  return {
    [RUNTIME_ENV.podIndex]: '0',
    [RUNTIME_ENV.podsPerGroup]: '1',
    [RUNTIME_ENV.gpusPerPod]: '2',
    [RUNTIME_ENV.worldSize]: '2',
    [RUNTIME_ENV.planPath]: planPath,
    [RUNTIME_ENV.rendezvousAddress]: '127.0.0.1',
    [RUNTIME_ENV.rendezvousPort]: String(await freePort()),
    [RUNTIME_ENV.modelPath]: modelDir(FLUX_TXT7),
    // Long enough that a worker which did reach the rendezvous would still be waiting on its peer.
    TESSERA_COMM_TIMEOUT_MS: '60000',
    TESSERA_LOG_LEVEL: 'info',
    ...testSecretEnv(),
  };
}

function request(output: string): string[] {
  return ['worker', '--inputs', inputs, '--steps', '4', '--guidance-scale', '3.5', '-o', output];
}

/** What the native layer's GPU check says is missing here (the worker must say the same). */
function missing(devices: number): string {
  const check = checkGpuRuntime({ devices, nccl: true });
  expect(check.ok).toBe(false);
  expect(check.problem).toMatch(/^CUDA is not usable: /);
  return check.problem as string;
}

/** The stderr of a failed run: exactly one line. */
function oneLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines, stderr).toHaveLength(1);
  return lines[0] as string;
}

describe.skipIf(status.available)('a GPU plan on a machine without a usable GPU', () => {
  it('ends the pod at once, before any worker starts, naming what is missing', async () => {
    const run = await runCli(request(join(dir, 'never.safetensors')), await podEnv());
    process.stdout.write(`GPU plan, no GPU: the pod's launcher exited ${run.code} after ${run.ms} ms\n`);
    expect(run.code).toBe(1);
    const line = oneLine(run.stderr);
    expect(line).toBe(
      `tessera worker: the plan (2 rank(s) on pod 0) asks for 2 GPU(s) but ${missing(2)}; ` +
        'run it on GPU nodes, or pass --device cpu to run the same plan on CPU',
    );
    expect(run.stdout).not.toContain('worker started');
  }, 60_000);

  it('ends a worker started directly before rendezvous and before weights', async () => {
    const run = await runCli(request(join(dir, 'never.safetensors')), {
      ...(await podEnv()),
      TESSERA_RANK: '1',
    });
    process.stdout.write(`GPU plan, no GPU: rank 1 exited ${run.code} after ${run.ms} ms\n`);
    expect(run.code).toBe(1);
    expect(oneLine(run.stderr)).toBe(
      `tessera worker: rank 1 (cuda:1) asks for 1 GPU(s) but ${missing(1)}; ` +
        'run it on GPU nodes, or pass --device cpu to run the same plan on CPU',
    );
    for (const stage of ['weights loaded', 'communicator connected', 'rendezvous']) {
      expect(run.stdout).not.toContain(stage);
    }
    // A worker waiting at the rendezvous would still be waiting for its absent peer (60 s timeout).
    expect(run.ms).toBeLessThan(30_000);
  }, 60_000);
});

describe('--device cpu', () => {
  it('runs the same GPU plan on CPU (gloo) and matches the one-process denoiser', async () => {
    const output = join(dir, 'cpu.safetensors');
    const run = await runCli([...request(output), '--device', 'cpu'], await podEnv());
    expect(run.code, run.stderr + run.stdout.slice(-3000)).toBe(0);
    expect(run.stdout).toContain('"device":"cpu"');
    expect(run.stdout).toContain('"backend":"gloo"');
    const expected = await oneProcessResult(FLUX_TXT7, inputs);
    const actual = NamedTensors.read(output).required('latents', 'group result');
    const error = maxRelativeError(actual.toFloat32Array(), expected.toFloat32Array());
    process.stdout.write(`GPU plan u2 with --device cpu: max relative error ${error.toExponential(2)}\n`);
    expect(error).toBeLessThanOrEqual(1e-5);
  }, 120_000);
});
