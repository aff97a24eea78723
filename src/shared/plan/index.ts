export * from './mesh.js';
export * from './plan.js';
