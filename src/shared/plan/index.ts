export * from './mesh.js';
export * from './plan.js';
export * from './stages.js';
