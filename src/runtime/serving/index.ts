export type { Completed, Outcome } from './batch-scheduler.js';
export {
  DenoiseExecutor,
  type DenoiseExecutorOptions,
  type GroupDecode,
  type GroupDenoise,
  type GroupDenoiseOptions,
} from './denoise-executor.js';
export {
  ExecutorFatalError,
  type F32Tensor,
  type GenerationExecutor,
  type GenerationRequest,
  type GenerationResult,
} from './executor.js';
export { GenerationServer, type GenerationServerOptions } from './generation-server.js';
export { HealthState, type Readiness } from './health-state.js';
export type { ImageService, PreparedImages } from './image-service.js';
export { IMAGES_PATH } from './images-route.js';
export { LeaderServer } from './leader-server.js';
export {
  type CheckpointDims,
  type LimitOverrides,
  maxBodyBytes,
  type ServingLimits,
  servingLimitsFromPlan,
  type TensorSpec,
} from './limits.js';
export { PipelineImages } from './pipeline-images.js';
export { ProbeServer } from './probe-server.js';
export { RequestError } from './request-error.js';
export { readServingConfig, type ServingConfig, ServingConfigError } from './serving-config.js';
export { shutdownOnSigterm } from './shutdown-signal.js';
export {
  type LeaderServingOptions,
  startLeaderServing,
  startWorkerProbes,
  type WorkerProbeOptions,
} from './start-serving.js';
