/**
 * Planner benchmark: plans for 1,024 GPUs with every candidate enumerated, checked and predicted.
 * Target: under 100 ms per plan — the median wall time of repeated calls (as the operator makes them),
 * and, for the 1,024-GPU scenarios the target names, the CPU time of the process's first call (V8 still
 * interprets the planner's code then; its wall time on a loaded machine is mostly waiting for a core, so
 * it is printed, not judged). Prints wall and CPU milliseconds and the load. Run: npm run bench:planner
 */
import { availableParallelism, loadavg } from 'node:os';
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

/** `firstCall`: whether the first call's CPU time is judged too (the 1,024-GPU target). */
const SCENARIOS: { name: string; firstCall: boolean; input: PlannerInput }[] = [
  {
    name: 'flux-dev 4096px, 1024 GPUs, throughput, batch 64',
    firstCall: true,
    input: {
      model: modelPreset('flux-dev'),
      request: { height: 4096, width: 4096, steps: 28, maxBatch: 64, guidanceScale: 3.5 },
      hardware: h100Cluster(128),
      policy: { gpusPerGroup: 1024, objective: 'throughput', allowPipefusion: true },
    },
  },
  {
    name: 'sd3.5-large 2048px, 1024 GPUs, latency, batch 1024',
    firstCall: true,
    input: {
      model: modelPreset('sd3.5-large'),
      request: { height: 2048, width: 2048, steps: 28, maxBatch: 1024, guidanceScale: 7 },
      hardware: h100Cluster(128),
      policy: { gpusPerGroup: 1024, objective: 'latency', allowPipefusion: true },
    },
  },
  {
    name: 'pixart-sigma 2048px, group of 1–64 GPUs, latency',
    firstCall: false,
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

/** Milliseconds of CPU this process used (user + system): what a plan costs, whatever the load. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Wall and CPU milliseconds of one call. */
function timed<T>(f: () => T): { value: T; wall: number; cpu: number } {
  const c = cpuMs();
  const t = performance.now();
  const value = f();
  return { value, wall: performance.now() - t, cpu: cpuMs() - c };
}

console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} on ${availableParallelism()} CPUs`,
);
let failed = false;
for (const s of SCENARIOS) {
  const cold = timed(() => plan(s.input));
  const first = cold.value;
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = timed(() => plan(s.input));
    walls.push(r.wall);
    cpus.push(r.cpu);
  }
  walls.sort((a, b) => a - b);
  cpus.sort((a, b) => a - b);
  const median = percentile(walls, 0.5);
  const p95 = percentile(walls, 0.95);
  const evaluated = first.candidates.length + first.rejected.length;
  // The operator plans again and again in one process: the steady-state median is the target, and
  // on 1,024 GPUs the process's first call must not use more CPU than that either.
  const ok = median < TARGET_MS && (!s.firstCall || cold.cpu < TARGET_MS);
  failed ||= !ok;
  console.log(
    `${s.name}\n  ${evaluated} factorisations (${first.candidates.length} feasible, ${first.rejected.length} rejected); ` +
      `chosen ${planShortString(first.chosen.degrees)} on ${first.chosen.gpusPerGroup} GPUs\n` +
      `  median ${median.toFixed(1)} ms wall (${percentile(cpus, 0.5).toFixed(1)} ms CPU), p95 ${p95.toFixed(1)} ms wall over ${RUNS} runs; ` +
      `first call ${cold.wall.toFixed(1)} ms wall (${cold.cpu.toFixed(1)} ms CPU) (target median wall${s.firstCall ? ' and first-call CPU' : ''} < ${TARGET_MS} ms: ${ok ? 'met' : 'MISSED'})`,
  );
}
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
process.exitCode = failed ? 1 : 0;
