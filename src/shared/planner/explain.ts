import { MESH_AXES, planShortString } from '../plan/index.js';
import type { Objective, RankedCandidate, Rejection } from './types.js';

const AXIS_WORDS = {
  ulysses: 'Ulysses',
  ring: 'Ring',
  pipefusion: 'PipeFusion',
  cfg: 'CFG',
  dataParallel: 'data parallel',
} as const;

const LINK_WORDS = {
  switch: 'under one PCIe switch',
  domain: 'inside a fast domain',
  node: 'across sockets',
  network: 'across nodes',
} as const;

/**
 * One sentence on why the chosen (first) candidate won, for status and `tessera plan`: its time, where
 * its axes run, and the approximate-policy rule that decided (`decision`); in manual mode, the runner-up.
 */
export function explainChoice(ordered: RankedCandidate[], objective: Objective, decision?: string): string {
  const best = ordered[0];
  if (!best) return 'no feasible plan';
  const what =
    objective === 'latency'
      ? `${best.time.totalSeconds.toFixed(2)} s per request`
      : `${best.imagesPerSecond.toFixed(2)} images/s on ${best.gpusPerGroup} GPUs`;
  const axes = MESH_AXES.filter((a) => best.degrees[a] > 1).map((a) => {
    // Data-parallel replicas never talk to each other, so where they sit does not matter.
    if (a === 'dataParallel') return `${AXIS_WORDS[a]} ${best.degrees[a]}`;
    const link = best.links[a];
    return `${AXIS_WORDS[a]} ${best.degrees[a]} ${link === 'none' ? '' : LINK_WORDS[link]}`.trim();
  });
  const layout = axes.length > 0 ? axes.join(', ') : 'one GPU';
  const runnerUp = ordered[1];
  const margin =
    runnerUp && runnerUp.relativeToBest >= best.relativeToBest
      ? `; next ${planShortString(runnerUp.degrees)} is ${((runnerUp.relativeToBest / best.relativeToBest - 1) * 100).toFixed(1)} % worse`
      : '';
  const rule = decision ? `; ${decision}` : '';
  return `${planShortString(best.degrees)} is chosen for ${objective} (${what}): ${layout}${margin}${rule}`;
}

/** A readable list of why each rejected candidate failed, one line each. */
export function explainRejections(rejected: readonly Rejection[], limit = rejected.length): string[] {
  return rejected.slice(0, limit).map((r) => {
    const which = r.degrees ? planShortString(r.degrees) : `every plan on ${r.gpusPerGroup} GPUs`;
    return `${which}: ${r.violations.map((v) => v.reason).join('; ')}`;
  });
}
