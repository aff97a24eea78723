export * from './gpus.js';
export * from './topology.js';
