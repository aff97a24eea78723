/** Checkpoint layout, whatever the architecture; each architecture's config and manifest is a leaf module here that its family (src/runtime/families/) uses. */
export { CheckpointMismatchError, checkWeights, SUPPORTED_WEIGHT_DTYPES } from './check.js';
export { CheckpointConfigError, ConfigFields, readJsonObject } from './config-fields.js';
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
export { type ModelIndex, readModelIndex } from './model-folder.js';
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
