export * from './architectures.js';
export * from './diffusers-config.js';
export * from './explicit.js';
export * from './model-spec.js';
export * from './presets.js';
export * from './weights.js';
