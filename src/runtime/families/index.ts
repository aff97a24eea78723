/** Model families: the interface (family.ts), the registry, and checkpoints read through them. */
export {
  manifestFor,
  type OpenedTransformer,
  type OpenOptions,
  openTransformer,
  readTransformerConfig,
} from './checkpoint.js';
export type * from './family.js';
export type { InputsCheck, InputsFileView } from './file-check.js';
export {
  architectureOf,
  FAMILIES,
  familyByName,
  familyOfClass,
  isServedFamily,
  transformerClasses,
  UnknownFamilyError,
} from './registry.js';
