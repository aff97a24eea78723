export { MAX_GUIDANCE_SCALE } from './bounds.js';
export { checkInputsFile, type InputsCheck } from './input-shapes.js';
export {
  type DenoiseRequestFiles,
  type GroupShape,
  guidanceProblem,
  ONE_PROCESS,
  PreflightError,
  preflightDenoise,
  preflightFacts,
} from './preflight.js';
