/**
 * What every CPU benchmark prints before its tables, so that a person can tell a slow machine from slow
 * kernels: the CPU and its features (CPUID), the kernels the dispatcher chose and why, the GEMM ceiling
 * measured now (the micro-kernel on cache-resident data), and the machine's load average.
 */
import { availableParallelism, loadavg } from 'node:os';
import { ops } from '../../src/runtime/native/index.js';

/** `load average: 1.20, 0.80, 0.45 (1, 5, 15 min, as uptime) on 2 cores` */
export function loadLine(): string {
  const averages = loadavg().map((l) => l.toFixed(2));
  return `load average: ${averages.join(', ')} (1, 5, 15 min, as uptime) on ${availableParallelism()} cores`;
}

export interface Machine {
  lines: string[];
  /** GFLOP/s per thread count measured. */
  ceiling: Map<number, number>;
}

/** Header lines; measures the GEMM ceiling on each thread count given (restoring the current one). */
export function describeMachine(ceilingThreads: readonly number[]): Machine {
  const info = ops.cpuKernels();
  const { cpu } = info;
  const lines = [
    `CPU: ${cpu.brand || 'unnamed'} (${cpu.vendor}, family ${cpu.family} model ${cpu.model}); features: ${cpu.features}`,
    `kernels: ${info.kernel}, micro-tile ${info.microTile}: ${info.reason}`,
  ];
  if (info.openblas) lines.push(`OpenBLAS: core ${info.openblas.core} (${info.openblas.config})`);
  const previous = ops.numThreads();
  const ceiling = new Map<number, number>();
  for (const threads of new Set(ceilingThreads)) {
    ops.setNumThreads(threads);
    ceiling.set(threads, ops.gemmCeiling(0.5));
  }
  ops.setNumThreads(previous);
  const measured = [...ceiling].map(
    ([t, g]) => `${g.toFixed(1)} GFLOP/s on ${t} thread${t === 1 ? '' : 's'}`,
  );
  lines.push(`GEMM ceiling (micro-kernel, cache-resident, measured now): ${measured.join(', ')}`);
  lines.push(loadLine());
  return { lines, ceiling };
}
