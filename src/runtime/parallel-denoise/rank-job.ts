/**
 * One rank's whole job for a denoise request, after its bootstrap (src/runtime/rank/): join the group,
 * load this rank's share of the weights (its pipeline stage's blocks only), read the inputs, run the
 * parallel denoiser, and — on the group's leader — write the result (and, for `tessera generate`, decode
 * it to images on the group: pipeline/group-images.ts). Any failure is thrown; the caller
 * exits non-zero, and the peers' collectives fail within the timeout.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DenoiseInputs } from '../denoise/inputs.js';
import type { FileInputs } from '../families/index.js';
import type { WorkerImagesArgs } from '../launcher/worker-args.js';
import { type LoadedTransformer, NamedTensors } from '../model-loader/index.js';
import { writeSafetensors } from '../native/safetensors-writer.js';
import { CommClock } from '../parallel/comm-steps.js';
import { writeGroupImages } from '../pipeline/group-images.js';
import { joinRankGroup, type RankSetup } from '../rank/bootstrap.js';
import { loadRankWeights } from '../rank/weights.js';
import type { ParallelGroup } from '../rendezvous/group.js';
import { checkDegreesFitRequest, type RequestFacts } from './checkpoint-fit.js';
import type { RankContext } from './context.js';
import { parallelDenoise } from './parallel-denoise.js';
import { type RankStats, rankStats } from './stats.js';

export interface DenoiseRequest {
  inputsPath: string;
  /** Written by the group's leader. */
  outputPath: string;
  steps: number;
  /** null: the pipeline's default for the family. */
  guidanceScale: number | null;
  /** Turns the file's tensors into denoiser inputs (the `tessera denoise` reader, shared with it). */
  readInputs: (loaded: LoadedTransformer, named: NamedTensors) => FileInputs;
  /** Decode the result to images on the group too, the leader writing them here (`tessera generate`). */
  images?: WorkerImagesArgs;
}

/**
 * Joins the group (through the rank's bootstrap, which already checked the plan against the checkpoint)
 * and runs the request; a failure aborts the group's communicators so that the peers fail at once.
 */
export async function runDenoiseRank(
  setup: RankSetup,
  request: DenoiseRequest,
  statsDir: string | undefined,
): Promise<void> {
  const group = await joinRankGroup(setup);
  try {
    await runInGroup(group, setup, request, statsDir);
  } catch (err) {
    // Tell the peers at once instead of letting them wait for the timeout.
    group.world.abort(`rank ${setup.rank} failed: ${(err as Error).message}`);
    throw err;
  }
  await group.close();
}

async function runInGroup(
  group: ParallelGroup,
  setup: RankSetup,
  request: DenoiseRequest,
  statsDir: string | undefined,
): Promise<void> {
  const { plan, logger } = setup;
  const job = { rank: setup.rank, degrees: plan.degrees, pipeline: plan.pipeline };
  const { loaded } = loadRankWeights(setup);
  const stats: RankStats = rankStats(job.rank, group.coords, loaded);

  const { inputs, finish } = request.readInputs(loaded, NamedTensors.read(request.inputsPath));
  // Without a scale, the family's pipeline default (as tessera denoise).
  const guidanceScale = request.guidanceScale ?? loaded.arch.family.defaultGuidanceScale;
  checkDegreesFitRequest(
    job.degrees,
    requestFacts(loaded, inputs, request.steps, guidanceScale),
    job.pipeline,
  );

  const ctx: RankContext = {
    rank: job.rank,
    degrees: job.degrees,
    coords: group.coords,
    world: group.world,
    axes: group.axes,
    logger,
    clock: new CommClock(),
  };
  const started = performance.now();
  const result = await parallelDenoise(
    loaded,
    inputs,
    {
      steps: request.steps,
      guidanceScale,
      scheduler: setup.scheduler,
      pipeline: job.pipeline,
      onStep: (s) => {
        stats.stepMs.push(s.ms);
        stats.stepCopies.push(s.copies);
      },
    },
    ctx,
  );
  stats.totalMs = performance.now() - started;
  stats.commMs = ctx.clock.ms;
  const latents = result ? finish(result) : null;
  if (latents) {
    writeSafetensors(request.outputPath, new Map([['latents', latents]]));
    logger.info({ output: request.outputPath, ms: Math.round(stats.totalMs) }, 'result written');
  }
  if (request.images) await writeGroupImages(group, setup, latents, request.images);
  if (statsDir) writeFileSync(join(statsDir, `rank-${job.rank}.json`), JSON.stringify(stats));
}

/** The request as the plan checks see it: the family's token geometry and guidance. */
function requestFacts(
  loaded: LoadedTransformer,
  inputs: DenoiseInputs,
  steps: number,
  guidanceScale: number,
): RequestFacts {
  const { geometry, guidance, batch } = loaded.model.request(inputs, guidanceScale);
  return {
    batch,
    imageTokens: geometry.imageTokens,
    tokenRows: geometry.rows,
    textTokens: geometry.jointTextTokens,
    steps,
    trueCfg: guidance.kind === 'cfg',
  };
}
