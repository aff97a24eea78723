export { type DenoiseOptions, type DenoiseResult, denoise, type StepReport } from './denoise.js';
export { type DenoiseInputs, inputTensors, type SampleTensors } from './inputs.js';
