/**
 * A rank's share of the checkpoint: its PipeFusion stage's blocks only (the stage follows from the rank
 * alone, so loading needs no group yet), on its device, in the dtype TESSERA_MODEL_DTYPE, the
 * checkpoint and the device's backend allow (model-loader/weight-dtype.ts).
 */
import { rankToCoords } from '../../shared/plan/index.js';
import { type LoadedTransformer, loadTransformer } from '../model-loader/index.js';
import type { BlockRange } from '../models/common/blocks.js';
import { stageRange } from '../parallel-denoise/stages.js';
import type { RankSetup } from './bootstrap.js';

export interface RankWeights {
  loaded: LoadedTransformer;
  stage: number;
  /** The blocks this rank holds; undefined: all of them. */
  range: BlockRange | undefined;
}

export function loadRankWeights(setup: RankSetup): RankWeights {
  const { degrees } = setup.plan;
  const stage = rankToCoords(setup.rank, degrees).pipefusion;
  const range = degrees.pipefusion > 1 ? stageRange(setup.config, degrees.pipefusion, stage) : undefined;
  const started = performance.now();
  const loaded = loadTransformer(setup.modelPath, {
    ...(range ? { blocks: range } : {}),
    device: setup.device.kind,
    weightDtype: { requested: setup.modelDtype },
  });
  setup.logger.info(
    { stage, blocks: range ?? 'all', ms: Math.round(performance.now() - started) },
    'weights loaded',
  );
  return { loaded, stage, range };
}
