/**
 * Every rank but 0: load this rank's weights, join the group, then follow the leader's broadcasts until
 * its shutdown message (exit 0) or until the group breaks (exit 1). SIGTERM alone does not end a
 * follower: the leader's drain finishes the running batch with every rank and then sends the shutdown;
 * a follower whose leader never does is killed by its launcher after the grace period.
 */

import { pipelinePlacement } from '../../shared/plan/index.js';
import { RankDecoder } from '../parallel/replica-decoder.js';
import { ImagePipeline } from '../pipeline/image-pipeline.js';
import { joinRankGroup, type RankSetup } from '../rank/bootstrap.js';
import { joinDecodeGroup } from '../rank/decode-group.js';
import { loadRankWeights } from '../rank/weights.js';
import type { ParallelGroup } from '../rendezvous/group.js';
import { followLeader } from './follow-leader.js';
import { RankModel } from './rank-model.js';
import { describePeerExit, onPeerExited, reportToLauncher } from './rank-status.js';

export async function serveAsFollower(setup: RankSetup): Promise<number> {
  const { plan, logger, rank } = setup;
  const onSigterm = () => logger.info('SIGTERM: waiting for the leader to drain and send the shutdown');
  process.on('SIGTERM', onSigterm);
  let group: ParallelGroup | undefined;
  onPeerExited((notice) => {
    const reason = describePeerExit(notice);
    logger.error({ reason }, 'a rank of this pod died; leaving the group');
    reportToLauncher(rank, 'fatal', reason);
    group?.world.abort(reason);
    // Exit now: an abort does not interrupt a broadcast already waiting in gloo (it fails only at the
    // collective timeout), and there is nothing left to finish for a group that lost a rank.
    process.exit(1);
  });
  try {
    const { loaded } = loadRankWeights(setup);
    reportToLauncher(rank, 'weights-loaded');
    group = await joinRankGroup(setup);
    reportToLauncher(rank, 'joined');
    logger.info({ size: group.size, coords: group.coords }, 'joined the group');
    const model = new RankModel(loaded, group, setup.scheduler, plan.pipeline, logger);
    const vaeRanks = pipelinePlacement(plan).vaeDecode.ranks;
    const placement = await joinDecodeGroup(group, vaeRanks, ImagePipeline.isWhole(setup.modelPath));
    const decoder = new RankDecoder(
      () => ImagePipeline.open(setup.modelPath),
      group.world,
      placement,
      logger,
    );
    await followLeader(model, group.world, {
      decoder,
      logger,
      onFirstRun: () => {
        logger.info('warmed up');
        reportToLauncher(rank, 'warmed-up');
      },
    });
    await group.close();
    return 0;
  } catch (err) {
    const reason = (err as Error).message;
    logger.error({ err }, 'the group broke; leaving');
    reportToLauncher(rank, 'fatal', reason);
    group?.world.abort(`rank ${rank}: ${reason}`);
    return 1;
  } finally {
    process.off('SIGTERM', onSigterm);
  }
}
