export {
  type LoadedTransformer,
  type LoadOptions,
  loadTransformer,
  ModelLoadError,
} from './load-transformer.js';
export { NamedTensors } from './named-tensors.js';
export {
  chooseWeightDtype,
  heldDtype,
  requestedModelDtype,
  type WeightDtype,
  WeightDtypeError,
} from './weight-dtype.js';
