export { effectiveBandwidth, predictTime } from './cost.js';
export { factorisations, groupSizes } from './enumerate.js';
export { explainChoice, explainRejections } from './explain.js';
export {
  layersPerStage,
  memoryPerGpu,
  pipelineStages,
  rankMemory,
  type StageCut,
  stageParameters,
  vaeDecodePeakBytes,
} from './memory.js';
export { axisLink, axisLinks, linkBetween, podLayout, rankPlacements } from './placement.js';
export {
  explore,
  NoFeasiblePlanError,
  PlannerInputError,
  plan,
  planWithDegrees,
  repredict,
} from './plan.js';
export { approximatePolicy, decide, isExact } from './policy.js';
export {
  COMPILED_PROFILE,
  EAGER_PROFILE,
  type EfficiencyProfile,
  PROFILES,
  type RuntimeTraits,
  TESSERA_RUNTIME,
  XDIT_RUNTIME,
} from './profiles.js';
export { objectiveValue, rankCandidates } from './rank.js';
export { checkDegrees, choosePatches, FEW_STEPS } from './rules.js';
export type * from './types.js';
export { DEFAULT_APPROXIMATE_POLICY } from './types.js';
export { workload } from './workload.js';
