/**
 * Rank 0 of pod 0: binds TESSERA_SERVING_PORT at once (so `/healthz` says 503 while weights load instead
 * of refusing connections), loads its weights, joins the group, warms the group up through the executor,
 * then serves until SIGTERM (drain, shutdown broadcast, exit 0) or a group failure (`/readyz` 503 with the
 * reason, communicators aborted so every peer fails at once, exit 1).
 */

import { basename } from 'node:path';
import { pipelinePlacement } from '../../shared/plan/index.js';
import { RUNTIME_ENV } from '../../shared/runtime-contract.js';
import type { Tensor } from '../native/index.js';
import { RankDecoder } from '../parallel/replica-decoder.js';
import type { RgbImage } from '../pipeline/image/pixels.js';
import { ImagePipeline } from '../pipeline/image-pipeline.js';
import { joinRankGroup, type RankSetup } from '../rank/bootstrap.js';
import { joinDecodeGroup } from '../rank/decode-group.js';
import { loadRankWeights } from '../rank/weights.js';
import type { ParallelGroup } from '../rendezvous/group.js';
import {
  DenoiseExecutor,
  type ImageService,
  type LeaderServer,
  PipelineImages,
  type ServingLimits,
  servingLimitsFromPlan,
  startLeaderServing,
} from '../serving/index.js';
import { GroupLeader } from './group-leader.js';
import { RankModel } from './rank-model.js';
import { describePeerExit, onPeerExited, reportToLauncher } from './rank-status.js';
import { warmUp } from './warm-up.js';

interface LeaderImages {
  pipeline: ImagePipeline;
  service: ImageService;
}

/**
 * The images API when the model folder is a whole Diffusers pipeline (tokenizers, text encoders, VAE);
 * null, said once in the log, when it holds the transformer only (the group serves latents).
 */
function imageServiceFor(setup: RankSetup, limits: ServingLimits): LeaderImages | null {
  const { logger, plan } = setup;
  let pipeline: ImagePipeline;
  try {
    pipeline = ImagePipeline.open(setup.modelPath);
  } catch (err) {
    logger.warn({ err }, 'images API off: the model folder is not a prompt-to-image pipeline');
    return null;
  }
  const missing = pipeline.missingComponents();
  if (missing.length > 0) {
    logger.info({ missing }, 'images API off: the model folder has no text encoders or VAE (latents only)');
    return null;
  }
  const name = setup.env[RUNTIME_ENV.inferenceName] ?? basename(setup.modelPath);
  return { pipeline, service: new PipelineImages(pipeline, limits, plan.model.textTokens, name) };
}

/** A serving result (the request's latents layout) → images, decoded by the group's VAE ranks. */
async function decodeOnGroup(
  leader: GroupLeader,
  pipeline: ImagePipeline,
  size: { height: number; width: number },
  latents: Tensor,
  requestId: string,
): Promise<RgbImage[]> {
  const spatial = pipeline.imageLatents(latents, size.height, size.width);
  try {
    return await leader.decode(spatial, requestId);
  } finally {
    if (spatial !== latents) spatial.release();
  }
}

const notJoined = (): Promise<never> => Promise.reject(new Error('the group is not joined yet'));

/** How long a failed leader keeps answering (503 with the reason) before it exits. */
const FATAL_LINGER_MS = 500;
/** How long its listener may take to close after that (every request still open is refused at once). */
const FATAL_CLOSE_WITHIN_MS = 1_000;

export function serveAsLeader(setup: RankSetup): Promise<number> {
  const { plan, logger, rank } = setup;
  const dims = setup.arch.inputDims;
  let leader: GroupLeader | undefined;
  let group: ParallelGroup | undefined;
  let server: LeaderServer | undefined;
  let exiting = false;

  return new Promise<number>((finish) => {
    const fail = (reason: string, cause: unknown) => {
      if (exiting) return;
      exiting = true;
      leader?.stop();
      server?.reportFatal(reason, cause);
      if (!server) logger.error({ err: cause, reason }, 'leader failed before serving');
      reportToLauncher(rank, 'fatal', reason);
      // Peers blocked on this rank fail now rather than at their timeout.
      group?.world.abort(`rank ${rank}: ${reason}`);
      // Close the listener before the process ends: exiting with it open resets every connection the
      // thread has accepted but not yet answered (a client sees ECONNRESET, no reason). Closed first, new
      // connections are refused (a client or the Service retries elsewhere) and accepted ones get their 503.
      setTimeout(() => {
        const closed = server ? server.shutdown().catch(() => undefined) : Promise.resolve();
        const bound = new Promise<void>((r) => setTimeout(r, FATAL_CLOSE_WITHIN_MS));
        void Promise.race([closed, bound]).then(() => finish(1));
      }, FATAL_LINGER_MS);
    };
    const drained = async () => {
      if (exiting) return;
      exiting = true;
      try {
        if (leader && group) {
          await leader.shutdown();
          await group.close();
        }
        logger.info('drained and left the group');
        finish(0);
      } catch (err) {
        logger.error({ err }, 'leaving the group after the drain failed');
        finish(1);
      }
    };

    const limits = servingLimitsFromPlan(plan, dims);
    const images = imageServiceFor(setup, limits);
    const executor = new DenoiseExecutor({
      family: setup.arch.family,
      latentHeight: plan.request.height / plan.model.vaeScaleFactor,
      latentWidth: plan.request.width / plan.model.vaeScaleFactor,
      maxBatch: plan.request.maxBatch,
      batchMultiple: plan.degrees.dataParallel,
      denoise: (inputs, options, signal) => (leader ? leader.denoise(inputs, options, signal) : notJoined()),
      ...(images
        ? {
            decode: (latents: Tensor, requestId: string) =>
              leader ? decodeOnGroup(leader, images.pipeline, plan.request, latents, requestId) : notJoined(),
          }
        : {}),
      // Any failed run may have left the ranks at different collectives: the group cannot go on.
      isFatal: () => true,
    });

    const start = async () => {
      server = await startLeaderServing({
        env: setup.env,
        plan,
        dims,
        executor,
        ...(images ? { images: images.service } : {}),
        logger,
        host: setup.addresses.storeListenHost,
        onDrained: () => void drained(),
      });
      const { loaded } = loadRankWeights(setup);
      reportToLauncher(rank, 'weights-loaded');
      group = await joinRankGroup(setup);
      reportToLauncher(rank, 'joined');
      logger.info({ size: group.size, coords: group.coords }, 'joined the group');
      const model = new RankModel(loaded, group, setup.scheduler, plan.pipeline, logger);
      const vaeRanks = pipelinePlacement(plan).vaeDecode.ranks;
      const openPipeline = () => images?.pipeline ?? ImagePipeline.open(setup.modelPath);
      const placement = await joinDecodeGroup(group, vaeRanks, images !== null);
      const decoder = new RankDecoder(openPipeline, group.world, placement, logger);
      leader = new GroupLeader(model, decoder, group.world, {
        heartbeatMs: Math.max(100, Math.floor(setup.timeoutMs / 4)),
        logger,
        onFatal: fail,
      });
      // One image per replica, so that every VAE rank loads the VAE and decodes once before /readyz.
      const ms = await warmUp(executor, limits, images?.service, plan.degrees.dataParallel);
      logger.info({ ms: Math.round(ms) }, 'group warmed up');
      reportToLauncher(rank, 'warmed-up');
      server.markStarted();
    };
    onPeerExited((notice) => fail(describePeerExit(notice), undefined));
    start().catch((err: unknown) => fail(`starting failed: ${(err as Error).message}`, err));
  });
}
