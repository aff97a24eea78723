/**
 * The demo's runtime step: a group of 4 local CPU ranks (Ulysses 2 inside each of 2 PipeFusion stages,
 * every step a warm-up step so the result is exact) runs a denoise request on a tiny generated Flux
 * checkpoint through the pod launcher — rendezvous, per-axis gloo communicators, stage-sharded weights,
 * the parallel denoiser — writes its result, and is compared with the one-process denoiser.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { planShortString } from '../../../shared/plan/index.js';
import { denoise } from '../../denoise/index.js';
import { denoiseInputs } from '../../denoise/input-files.js';
import { loadTransformer, NamedTensors } from '../../model-loader/index.js';
import { readSchedulerConfig } from '../../scheduler/scheduler.js';
import { runLocalGroup } from '../local-group.js';
import { DEMO_FLUX, writeTinyFlux, writeTinyFluxInputs } from './tiny-checkpoint.js';

const STEPS = 4;
const GUIDANCE = 3.5;

export async function runParallelDemo(say: (line?: string) => void, workDir: string): Promise<number> {
  mkdirSync(workDir, { recursive: true });
  const model = writeTinyFlux(join(workDir, 'tiny-flux'));
  const inputs = join(workDir, 'inputs.safetensors');
  writeTinyFluxInputs(inputs, DEMO_FLUX, { height: 16, width: 16, textTokens: 8 });
  const output = resolve(workDir, 'parallel-result.safetensors');
  const degrees = { dataParallel: 1, cfg: 1, pipefusion: 2, ring: 1, ulysses: 2 };
  say(
    `Runtime: a ${planShortString(degrees)} group of 4 CPU ranks on a tiny generated Flux checkpoint (${model})`,
  );
  const started = Date.now();
  // The ranks' JSON logs go to files, as a parallel `tessera denoise` does: the terminal is the person's.
  const logDir = join(workDir, 'rank-logs');
  rmSync(logDir, { recursive: true, force: true }); // rank files are appended to: start this run's afresh
  mkdirSync(logDir, { recursive: true });
  const { code, failure } = await runLocalGroup({
    logDir,
    degrees,
    pipeline: { patches: 2, warmupSteps: STEPS },
    modelPath: model,
    workerArgs: [
      '--inputs',
      inputs,
      '--steps',
      String(STEPS),
      '--guidance-scale',
      String(GUIDANCE),
      '-o',
      output,
    ],
  });
  if (code !== 0) {
    say(`The local group failed: ${failure ?? `exit code ${code}`} (logs in ${logDir})`);
    return code;
  }
  say(
    `Group result written to ${output} in ${((Date.now() - started) / 1000).toFixed(1)} s (rank logs in ${logDir})`,
  );
  const loaded = loadTransformer(model);
  const { inputs: request, finish } = denoiseInputs(loaded, NamedTensors.read(inputs));
  const one = await denoise(loaded, request, {
    steps: STEPS,
    guidanceScale: GUIDANCE,
    scheduler: readSchedulerConfig(model),
  });
  const expected = finish(one.latents).toFloat32Array();
  const actual = NamedTensors.read(output).required('latents', 'group result').toFloat32Array();
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs((actual[i] as number) - (expected[i] as number)));
    scale = Math.max(scale, Math.abs(expected[i] as number));
  }
  say(`Same request in one process: max relative difference ${(diff / (scale || 1)).toExponential(2)}`);
  return 0;
}
