/**
 * The operator's rendered pod template, run locally: a group of 2 pods × 2 ranks (CPU mode, pp2·u2 —
 * Ulysses inside a pod, PipeFusion across pods, as the planner places them), each pod's command as a
 * process with that pod's environment. The group's result must equal the one-process result; and when
 * one rank is killed mid-denoise, every process of the group must exit non-zero within the timeout.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NamedTensors } from '../../../src/runtime/model-loader/index.js';
import { FLUX_TXT7, modelDir, oneProcessResult, writeInputs } from './denoise-fixtures.js';
import { maxRelativeError } from './harness.js';
import { type PodProcess, startPodGroup, workerPids } from './pod-group.js';

const COMM_TIMEOUT_MS = 8_000;
let dir = '';
let live: PodProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-pods-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  for (const p of live) p.child.kill('SIGKILL');
  live = [];
});

const degrees = { dataParallel: 1, cfg: 1, pipefusion: 2, ring: 1, ulysses: 2 };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the rendered pod template, run locally as 2 pods × 2 ranks', () => {
  it("the group's result equals the one-process result", async () => {
    const inputs = writeInputs(FLUX_TXT7, dir, 1);
    const output = join(dir, 'group.safetensors');
    const steps = String(FLUX_TXT7.steps);
    const { pods, env } = await startPodGroup({
      degrees,
      pipeline: { patches: 2, warmupSteps: FLUX_TXT7.steps },
      modelPath: modelDir(FLUX_TXT7),
      args: ['--inputs', inputs, '--steps', steps, '--guidance-scale', '3.5', '-o', output],
      dir,
    });
    live = pods;
    expect(env[1]?.get('TESSERA_POD_INDEX')).toBe('1');
    const exits = await Promise.all(pods.map((p) => p.exited));
    for (const [i, e] of exits.entries()) {
      expect(e.code, `pod ${i}:\n${pods[i]?.output().slice(-3000)}`).toBe(0);
    }
    const expected = await oneProcessResult(FLUX_TXT7, inputs);
    const actual = NamedTensors.read(output).required('latents', 'group result');
    const error = maxRelativeError(actual.toFloat32Array(), expected.toFloat32Array());
    process.stdout.write(
      `pod template group pp2·u2 (2 pods × 2 ranks): max relative error ${error.toExponential(2)}\n`,
    );
    expect(error).toBeLessThanOrEqual(1e-5);
  }, 120_000);

  it('killing one rank mid-denoise makes every process of the group exit non-zero within the timeout', async () => {
    const inputs = writeInputs(FLUX_TXT7, dir, 1);
    const { pods } = await startPodGroup({
      degrees,
      pipeline: { patches: 2, warmupSteps: 1 },
      modelPath: modelDir(FLUX_TXT7),
      // Enough steps that the group is still denoising when the rank dies.
      args: ['--inputs', inputs, '--steps', '400', '-o', join(dir, 'never.safetensors')],
      dir,
      env: { TESSERA_COMM_TIMEOUT_MS: String(COMM_TIMEOUT_MS) },
    });
    live = pods;
    const [pod0, pod1] = pods as [PodProcess, PodProcess];
    // Wait until every rank has loaded its weights and the denoiser runs.
    const deadline = Date.now() + 60_000;
    while ((pod0.output() + pod1.output()).split('"weights loaded"').length - 1 < 4) {
      if (Date.now() > deadline)
        throw new Error(`the group never started:\n${pod0.output()}\n${pod1.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1000));
    const pids = [...workerPids(pod0.output()).values(), ...workerPids(pod1.output()).values()];
    expect(pids).toHaveLength(4);
    const victim = workerPids(pod1.output()).get(3) as number;
    const killedAt = Date.now();
    process.kill(victim, 'SIGKILL');
    const exits = await Promise.all(pods.map((p) => p.exited));
    const elapsed = Date.now() - killedAt;
    process.stdout.write(
      `kill test: both pods exited ${elapsed} ms after the kill (timeout ${COMM_TIMEOUT_MS} ms)\n`,
    );
    for (const e of exits) expect(e.code === 0).toBe(false);
    expect(elapsed).toBeLessThan(COMM_TIMEOUT_MS + 5_000);
    for (const pid of pids) expect(alive(pid), `worker ${pid} still running`).toBe(false);
  }, 120_000);
});
