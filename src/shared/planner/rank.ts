import { planShortString } from '../plan/index.js';
import type { Candidate, Objective, RankedCandidate } from './types.js';

/** The objective's value: lower is better (seconds, or GPU-seconds per image for throughput). */
export function objectiveValue(c: Candidate, objective: Objective): number {
  return objective === 'latency' ? c.time.totalSeconds : c.gpusPerGroup / c.imagesPerSecond;
}

/**
 * Orders candidates best first. Ties (within 0.1 %) go to fewer GPUs, then fewer pods, then less
 * memory, then the short form, so the order is deterministic.
 */
export function rankCandidates(candidates: Candidate[], objective: Objective): RankedCandidate[] {
  const keyed = candidates.map((c) => ({
    c,
    v: objectiveValue(c, objective),
    s: planShortString(c.degrees),
  }));
  keyed.sort((a, b) => {
    const rel = (a.v - b.v) / Math.min(a.v, b.v);
    if (Math.abs(rel) > 1e-3) return a.v - b.v;
    return (
      a.c.gpusPerGroup - b.c.gpusPerGroup ||
      a.c.podsPerGroup - b.c.podsPerGroup ||
      a.c.memory.total - b.c.memory.total ||
      (a.s < b.s ? -1 : a.s > b.s ? 1 : 0)
    );
  });
  const best = keyed[0]?.v ?? 1;
  return keyed.map((k, i) => ({ ...k.c, rank: i + 1, relativeToBest: k.v / best }));
}
