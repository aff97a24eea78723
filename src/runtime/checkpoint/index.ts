export { CheckpointMismatchError, checkWeights, SUPPORTED_WEIGHT_DTYPES } from './check.js';
export { CheckpointConfigError } from './config-fields.js';
export { FLUX_TRANSFORMER_DEFAULTS, type FluxTransformerConfig } from './flux-config.js';
export { fluxManifest } from './flux-manifest.js';
export {
  allTensors,
  blockGroups,
  type ExpectedTensor,
  type ModelManifest,
  type StageSelection,
  stageTensors,
  type TensorGroup,
  type TensorGroupKind,
} from './manifest.js';
export {
  type ModelIndex,
  readModelIndex,
  readTransformerConfig,
  type TransformerConfig,
} from './model-folder.js';
export { manifestFor, type OpenedTransformer, type OpenOptions, openTransformer } from './open-checkpoint.js';
export { SD3_TRANSFORMER_DEFAULTS, type Sd3QkNorm, type Sd3TransformerConfig } from './sd3-config.js';
export { sd3Manifest } from './sd3-manifest.js';
export { type OpenTensorSource, type TensorSource, weightsSource } from './tensor-source.js';
export {
  DIFFUSERS_WEIGHT_FILES,
  requireWeightFiles,
  resolveWeightFiles,
  SHARD_INDEX,
  SINGLE_WEIGHTS,
  TRANSFORMERS_WEIGHT_FILES,
  type WeightFileNames,
  type WeightFiles,
} from './weight-files.js';
