/** The DiTInference API, `tessera.dev/v1alpha1`. Types describe objects as stored (schema defaults applied). */
export * from './constants.js';
export * from './ditinference.js';
export * from './failure.js';
export * from './model.js';
export * from './parallelism.js';
export * from './placement.js';
export * from './primitives.js';
export * from './quantity.js';
export * from './request.js';
export * from './runtime.js';
export * from './serving.js';
export * from './status.js';
export * from './topology.js';
