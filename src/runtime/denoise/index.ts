export { type DenoiseOptions, type DenoiseResult, denoise, type StepReport } from './denoise.js';
export { classifierFreeGuidance } from './guidance.js';
export { type DenoiseInputs, type FluxDenoiseInputs, imageTokens, type Sd3DenoiseInputs } from './inputs.js';
export { fluxVelocity, sd3UsesCfg, sd3Velocity } from './predict.js';
export { type DenoiseSchedule, denoiseSchedule } from './schedule.js';
