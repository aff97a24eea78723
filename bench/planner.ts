/**
 * Planner benchmark: plans for 1,024 GPUs with every candidate enumerated, checked and predicted.
 * Target: under 100 ms per plan. Run: npm run bench:planner
 */
import { performance } from 'node:perf_hooks';
import { gpuSpec } from '../src/shared/hardware/index.js';
import { modelPreset } from '../src/shared/models/index.js';
import { planShortString } from '../src/shared/plan/index.js';
import { type PlannerInput, plan } from '../src/shared/planner/index.js';

const TARGET_MS = 100;
const RUNS = 50;

const h100Cluster = (nodes: number) => ({
  gpu: gpuSpec('NVIDIA-H100-80GB-HBM3'),
  gpusPerNode: 8,
  nodesAvailable: nodes,
  intraNode: 'nvlink' as const,
  interNodeGbps: 3200,
});

const SCENARIOS: { name: string; input: PlannerInput }[] = [
  {
    name: 'flux-dev 4096px, 1024 GPUs, throughput, batch 64',
    input: {
      model: modelPreset('flux-dev'),
      request: { height: 4096, width: 4096, steps: 28, maxBatch: 64, guidanceScale: 3.5 },
      hardware: h100Cluster(128),
      policy: { gpusPerGroup: 1024, objective: 'throughput', allowPipefusion: true },
    },
  },
  {
    name: 'sd3.5-large 2048px, 1024 GPUs, latency, batch 1024',
    input: {
      model: modelPreset('sd3.5-large'),
      request: { height: 2048, width: 2048, steps: 28, maxBatch: 1024, guidanceScale: 7 },
      hardware: h100Cluster(128),
      policy: { gpusPerGroup: 1024, objective: 'latency', allowPipefusion: true },
    },
  },
  {
    name: 'pixart-sigma 2048px, group of 1–64 GPUs, latency',
    input: {
      model: modelPreset('pixart-sigma'),
      request: { height: 2048, width: 2048, steps: 20, maxBatch: 8, guidanceScale: 4.5 },
      hardware: h100Cluster(8),
      policy: { gpusPerGroup: { min: 1, max: 64 }, objective: 'latency', allowPipefusion: true },
    },
  },
];

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

let failed = false;
for (const s of SCENARIOS) {
  const t0 = performance.now();
  const first = plan(s.input);
  const cold = performance.now() - t0;
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    plan(s.input);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const median = percentile(times, 0.5);
  const p95 = percentile(times, 0.95);
  const evaluated = first.candidates.length + first.rejected.length;
  const ok = median < TARGET_MS && cold < TARGET_MS;
  failed ||= !ok;
  console.log(
    `${s.name}\n  ${evaluated} factorisations (${first.candidates.length} feasible, ${first.rejected.length} rejected); ` +
      `chosen ${planShortString(first.chosen.degrees)} on ${first.chosen.gpusPerGroup} GPUs\n` +
      `  first call ${cold.toFixed(1)} ms, median ${median.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms over ${RUNS} runs ` +
      `(target < ${TARGET_MS} ms: ${ok ? 'met' : 'MISSED'})`,
  );
}
process.exitCode = failed ? 1 : 0;
