import type { ParallelismObjective } from '../../shared/api/v1alpha1/index.js';
import type { Plan } from '../../shared/plan/index.js';

/** A pool that can run the object: its plan there, and how many more groups fit in it now. */
export interface PoolOption {
  readonly name: string;
  readonly plan: Plan;
  readonly groupsFit: number;
}

export interface RankedPool extends PoolOption {
  /** Why it is where it is, for status. */
  readonly why: string;
}

/** Images per GPU-second of a plan at full batch: what `Throughput` maximises. */
export function imagesPerGpuSecond(plan: Plan): number {
  return plan.request.maxBatch / (plan.predicted.totalSeconds * plan.gpusPerGroup);
}

function seconds(s: number): string {
  return s >= 10 ? s.toFixed(1) : s.toFixed(2);
}

/**
 * Pools best first by the objective: `Latency` by predicted seconds per request, `Throughput` by
 * images per GPU-second; ties go to the pool with more room, then by name. Each says why.
 */
export function rankPools(options: readonly PoolOption[], objective: ParallelismObjective): RankedPool[] {
  const score = (o: PoolOption) =>
    objective === 'Throughput' ? -imagesPerGpuSecond(o.plan) : o.plan.predicted.totalSeconds;
  const sorted = [...options].sort(
    (a, b) => score(a) - score(b) || b.groupsFit - a.groupsFit || a.name.localeCompare(b.name),
  );
  const describe = (o: PoolOption) =>
    objective === 'Throughput'
      ? `${imagesPerGpuSecond(o.plan).toPrecision(3)} images per GPU-second`
      : `${seconds(o.plan.predicted.totalSeconds)} s per request`;
  const best = sorted[0];
  return sorted.map((o, i) => {
    if (i === 0) {
      const next = sorted[1];
      const why =
        next === undefined
          ? `the only pool with a feasible plan (${describe(o)})`
          : `${objective === 'Throughput' ? 'most images per GPU-second' : 'lowest predicted latency'}: ${describe(o)} vs ${describe(next)} on ${next.name}`;
      return { ...o, why };
    }
    return {
      ...o,
      why: `ranked ${i + 1}: ${describe(o)} vs ${describe(best as PoolOption)} on ${best?.name}`,
    };
  });
}
