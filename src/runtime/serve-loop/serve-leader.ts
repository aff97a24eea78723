/**
 * Rank 0 of pod 0: binds TESSERA_SERVING_PORT at once (so `/healthz` says 503 while weights load instead
 * of refusing connections), loads its weights, joins the group, warms the group up through the executor,
 * then serves until SIGTERM (drain, shutdown broadcast, exit 0) or a group failure (`/readyz` 503 with the
 * reason, communicators aborted so every peer fails at once, exit 1).
 */

import { joinRankGroup, type RankSetup } from '../rank/bootstrap.js';
import { loadRankWeights } from '../rank/weights.js';
import type { ParallelGroup } from '../rendezvous/group.js';
import {
  DenoiseExecutor,
  type LeaderServer,
  servingLimitsFromPlan,
  startLeaderServing,
} from '../serving/index.js';
import { GroupLeader } from './group-leader.js';
import { RankModel } from './rank-model.js';
import { describePeerExit, onPeerExited, reportToLauncher } from './rank-status.js';
import { warmUp } from './warm-up.js';

/** How long a failed leader keeps answering (503 with the reason) before it exits. */
const FATAL_LINGER_MS = 500;

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
      setTimeout(() => finish(1), FATAL_LINGER_MS);
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

    const executor = new DenoiseExecutor({
      family: setup.arch.family,
      latentHeight: plan.request.height / plan.model.vaeScaleFactor,
      latentWidth: plan.request.width / plan.model.vaeScaleFactor,
      maxBatch: plan.request.maxBatch,
      batchMultiple: plan.degrees.dataParallel,
      denoise: (inputs, options, signal) =>
        leader
          ? leader.denoise(inputs, options, signal)
          : Promise.reject(new Error('the group is not joined yet')),
      // Any failed run may have left the ranks at different collectives: the group cannot go on.
      isFatal: () => true,
    });

    const start = async () => {
      server = await startLeaderServing({
        env: setup.env,
        plan,
        dims,
        executor,
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
      leader = new GroupLeader(model, group.world, {
        heartbeatMs: Math.max(100, Math.floor(setup.timeoutMs / 4)),
        logger,
        onFatal: fail,
      });
      const ms = await warmUp(executor, servingLimitsFromPlan(plan, dims));
      logger.info({ ms: Math.round(ms) }, 'group warmed up');
      reportToLauncher(rank, 'warmed-up');
      server.markStarted();
    };
    onPeerExited((notice) => fail(describePeerExit(notice), undefined));
    start().catch((err: unknown) => fail(`starting failed: ${(err as Error).message}`, err));
  });
}
