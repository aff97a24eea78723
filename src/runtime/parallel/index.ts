/**
 * Parallel strategies around attention (xdit.md §3): Ulysses, Ring and USP as comm programs, joint text
 * handling, sequence sharding and gathering. The denoising loops that use them are in parallel-denoise/.
 */
export { type CommProgram, type CommStep, runProgram, type SpAxis, type SpLayout } from './comm-steps.js';
export { type TextSharding, textShardingFor } from './joint-text.js';
export { LseAccumulator } from './lse-merge.js';
export { ringAttention } from './ring.js';
export { shardJoint, tokenSlice } from './sequence-shard.js';
export { gatherSequenceShards } from './sp-gather.js';
export { allGatherHeads, gatherHeads, ownHeadGroup, scatterHeads } from './ulysses.js';
export { uspAttention } from './usp-attention.js';
