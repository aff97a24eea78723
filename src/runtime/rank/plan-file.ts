/**
 * Reading the plan the operator mounted, and checking it against the pod it runs in: the schema version,
 * the degrees against the world size, the device, and the ranks the plan places on this pod.
 */
import { readFileSync } from 'node:fs';
import {
  PLAN_SCHEMA_VERSION,
  type Plan,
  placementProblems,
  type RankPlacement,
  worldSize,
} from '../../shared/plan/index.js';
import { RUNTIME_ENV } from '../../shared/runtime-contract.js';
import type { PodEnvironment } from './env-config.js';

export class PlanFileError extends Error {
  override readonly name = 'PlanFileError';
}

const DEGREE_FIELDS = ['dataParallel', 'cfg', 'pipefusion', 'ring', 'ulysses'] as const;

export function readPlanFile(path: string): Plan {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PlanFileError(`cannot read the plan at ${path} (${RUNTIME_ENV.planPath})`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new PlanFileError(`the plan at ${path} is not JSON`, { cause: err });
  }
  return checkPlanShape(parsed, path);
}

function checkPlanShape(value: unknown, path: string): Plan {
  const fail = (field: string, why: string) => new PlanFileError(`plan ${path}: ${field} ${why}`);
  if (typeof value !== 'object' || value === null) throw fail('document', 'must be an object');
  const plan = value as Partial<Plan>;
  if (plan.schemaVersion !== PLAN_SCHEMA_VERSION) {
    throw fail(
      'schemaVersion',
      `is ${String(plan.schemaVersion)}; this runtime reads version ${PLAN_SCHEMA_VERSION}`,
    );
  }
  if (typeof plan.degrees !== 'object' || plan.degrees === null) throw fail('degrees', 'is missing');
  for (const f of DEGREE_FIELDS) {
    const d = plan.degrees[f];
    if (!Number.isInteger(d) || (d as number) < 1)
      throw fail(`degrees.${f}`, `must be an integer >= 1, got ${String(d)}`);
  }
  if (!Array.isArray(plan.ranks)) throw fail('ranks', 'must be a list');
  if (typeof plan.model !== 'object' || plan.model === null) throw fail('model', 'is missing');
  const pipeline = plan.pipeline;
  if (!pipeline || !Number.isInteger(pipeline.patches) || pipeline.patches < 1) {
    throw fail('pipeline.patches', 'must be an integer >= 1');
  }
  if (!Number.isInteger(pipeline.warmupSteps) || pipeline.warmupSteps < 0) {
    throw fail('pipeline.warmupSteps', 'must be an integer >= 0');
  }
  if (plan.device !== undefined && plan.device !== 'cuda' && plan.device !== 'cpu') {
    throw fail('device', `must be "cuda" or "cpu", got ${JSON.stringify(plan.device)}`);
  }
  const [placement] = placementProblems({ degrees: plan.degrees, pipeline });
  if (placement !== undefined) throw new PlanFileError(`plan ${path}: ${placement}`);
  return plan as Plan;
}

/** The ranks this pod runs, in local-rank order, after checking the plan against the pod's env. */
export function ranksOfPod(plan: Plan, pod: PodEnvironment): RankPlacement[] {
  const size = worldSize(plan.degrees);
  if (size !== pod.worldSize) {
    throw new PlanFileError(
      `the plan's degrees multiply to ${size} ranks but ${RUNTIME_ENV.worldSize} is ${pod.worldSize}`,
    );
  }
  if (plan.ranks.length !== size) {
    throw new PlanFileError(`the plan places ${plan.ranks.length} ranks for a group of ${size}`);
  }
  const mine = plan.ranks.filter((r) => r.pod === pod.podIndex).sort((a, b) => a.localRank - b.localRank);
  if (mine.length === 0) throw new PlanFileError(`the plan places no rank on pod ${pod.podIndex}`);
  if (mine.length > pod.gpusPerPod) {
    throw new PlanFileError(
      `the plan places ${mine.length} ranks on pod ${pod.podIndex} but ${RUNTIME_ENV.gpusPerPod} is ${pod.gpusPerPod}`,
    );
  }
  mine.forEach((r, i) => {
    if (r.localRank !== i) {
      throw new PlanFileError(
        `pod ${pod.podIndex}: local ranks must be 0..${mine.length - 1}, found ${r.localRank}`,
      );
    }
  });
  return mine;
}
