export {
  blockCount,
  type LoadedTransformer,
  type LoadOptions,
  loadTransformer,
  ModelLoadError,
} from './load-transformer.js';
export { NamedTensors } from './named-tensors.js';
