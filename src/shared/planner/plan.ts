import { validateTopology } from '../hardware/index.js';
import {
  type Degrees,
  PLAN_SCHEMA_VERSION,
  planShortString,
  type RequestShape,
  replicaRanks,
} from '../plan/index.js';
import { predictTime } from './cost.js';
import { factorisations, groupSizes } from './enumerate.js';
import { explainChoice, explainRejections } from './explain.js';
import { memoryPerGpu } from './memory.js';
import { axisLinks, podLayout, rankPlacements, rankSpace } from './placement.js';
import { approximatePolicy, decide } from './policy.js';
import { COMPILED_PROFILE, type EfficiencyProfile } from './profiles.js';
import { rankCandidates } from './rank.js';
import { checkDegrees, checkMemory, checkShape, choosePatches, type RuleContext } from './rules.js';
import type { Candidate, ChosenPlan, PlannerInput, PlannerResult, Rejection, Violation } from './types.js';
import { type Workload, workload } from './workload.js';

/** Nothing the planner may choose is feasible; `rejected` says why for each candidate. */
export class NoFeasiblePlanError extends Error {
  override readonly name = 'NoFeasiblePlanError';
  constructor(
    readonly rejected: Rejection[],
    summary: string,
  ) {
    super(summary);
  }
}

/** Bad planner input (not a rejected plan): names the field and what to do. */
export class PlannerInputError extends Error {
  override readonly name = 'PlannerInputError';
}

const DEFAULT_WARMUP_STEPS = 1;

function validateInput(input: PlannerInput): void {
  const { request, policy } = input;
  const positiveInt = (v: number, field: string) => {
    if (!Number.isInteger(v) || v <= 0)
      throw new PlannerInputError(`${field} must be a positive integer, got ${v}`);
  };
  positiveInt(request.height, 'request.height');
  positiveInt(request.width, 'request.width');
  positiveInt(request.steps, 'request.steps');
  positiveInt(request.maxBatch, 'request.maxBatch');
  const px = input.model.facts.vaeScaleFactor * input.model.facts.patchSize;
  for (const [field, v] of [
    ['request.height', request.height],
    ['request.width', request.width],
  ] as const) {
    if (v % px !== 0) {
      throw new PlannerInputError(`${field}=${v} must be a multiple of ${px} (VAE scale × patch size)`);
    }
  }
  const size = policy.gpusPerGroup;
  if (typeof size === 'number') positiveInt(size, 'policy.gpusPerGroup');
  else {
    positiveInt(size.min, 'policy.gpusPerGroup.min');
    positiveInt(size.max, 'policy.gpusPerGroup.max');
    if (size.min > size.max) {
      throw new PlannerInputError(`policy.gpusPerGroup.min (${size.min}) exceeds max (${size.max})`);
    }
  }
  if (policy.warmupSteps !== undefined && (!Number.isInteger(policy.warmupSteps) || policy.warmupSteps < 0)) {
    throw new PlannerInputError(
      `policy.warmupSteps must be a non-negative integer, got ${policy.warmupSteps}`,
    );
  }
  if (input.imageTokens !== undefined) positiveInt(input.imageTokens, 'imageTokens');
  try {
    validateTopology(input.hardware);
  } catch (err) {
    throw new PlannerInputError(`hardware: ${(err as Error).message}`, { cause: err });
  }
}

/** Group-level rules: the pods must split evenly and fit the nodes. */
function groupViolations(gpus: number, input: PlannerInput): Violation[] {
  const t = input.hardware;
  const layout = podLayout(gpus, t.gpusPerNode);
  if (!layout) {
    const pods = Math.ceil(gpus / t.gpusPerNode);
    return [
      {
        rule: 'pods-even',
        reason: `${gpus} GPUs do not split evenly over ${pods} pods of at most ${t.gpusPerNode} GPUs`,
      },
    ];
  }
  if (layout.podsPerGroup > t.nodesAvailable) {
    return [
      {
        rule: 'nodes-available',
        reason: `${gpus} GPUs need ${layout.podsPerGroup} nodes of ${t.gpusPerNode} GPUs but ${t.nodesAvailable} are available`,
      },
    ];
  }
  return [];
}

type Evaluation = { candidate: Candidate } | { rejection: Rejection };

/** Checks and, when valid, predicts one set of degrees on `gpus` GPUs. */
function evaluate(d: Degrees, gpus: number, input: PlannerInput, ctx: RuleContext): Evaluation {
  const violations = [...checkShape(d, gpus)];
  if (violations.length === 0) violations.push(...checkDegrees(d, ctx));
  let patches = 1;
  if (violations.length === 0) {
    const chosen = choosePatches(d, ctx.workload.tokenRows, input.policy.pipelinePatches);
    if ('violation' in chosen) violations.push(chosen.violation);
    else patches = chosen.patches;
  }
  if (violations.length > 0) return { rejection: { degrees: d, gpusPerGroup: gpus, violations } };

  const profile = input.profile ?? COMPILED_PROFILE;
  const memory = memoryPerGpu(input.model, input.request, ctx.workload, d, profile.runtime.stageCut);
  const memoryViolations = checkMemory(memory, ctx);
  if (memoryViolations.length > 0) {
    return { rejection: { degrees: d, gpusPerGroup: gpus, violations: memoryViolations } };
  }
  const layout = podLayout(gpus, input.hardware.gpusPerNode);
  if (!layout) throw new Error(`bug: ${gpus} GPUs passed the group rules without an even pod layout`);
  const space = rankSpace(input.hardware, layout.gpusPerPod);
  const links = axisLinks(d, space);
  const warmupSteps = d.pipefusion > 1 ? ctx.warmupSteps : 0;
  const placed = { degrees: d, gpusPerGroup: gpus, ...layout, patches, warmupSteps, memory, links };
  return { candidate: withTime(placed, input, ctx.workload, profile) };
}

/** A checked and placed candidate with its predicted time under `profile`. */
function withTime(
  c: Omit<Candidate, 'time' | 'imagesPerSecond'>,
  input: PlannerInput,
  w: Workload,
  profile: EfficiencyProfile,
): Candidate {
  const time = predictTime({
    model: input.model,
    request: input.request,
    workload: w,
    topology: input.hardware,
    profile,
    degrees: c.degrees,
    patches: c.patches,
    warmupSteps: c.warmupSteps,
    space: rankSpace(input.hardware, c.gpusPerPod),
    links: c.links,
  });
  return { ...c, time, imagesPerSecond: input.request.maxBatch / time.totalSeconds };
}

/**
 * The same candidates predicted under other efficiency constants (with the same runtime traits, so
 * the same rules hold): what the calibration's fitter varies, without re-checking every plan.
 */
export function repredict(
  input: PlannerInput,
  candidates: readonly Candidate[],
  profile: EfficiencyProfile,
): Candidate[] {
  const w = workload(input.model, input.request, input.imageTokens);
  return candidates.map((c) => withTime(c, input, w, profile));
}

/**
 * Every candidate the policy allows, checked and predicted, without choosing. Manual mode
 * (`policy.degrees`) evaluates only the given degrees.
 */
export function explore(input: PlannerInput): { candidates: Candidate[]; rejected: Rejection[] } {
  validateInput(input);
  const warmupSteps = Math.min(input.policy.warmupSteps ?? DEFAULT_WARMUP_STEPS, input.request.steps);
  const ctx: RuleContext = {
    runtime: (input.profile ?? COMPILED_PROFILE).runtime,
    model: input.model,
    request: input.request,
    workload: workload(input.model, input.request, input.imageTokens),
    topology: input.hardware,
    policy: input.policy,
    warmupSteps,
  };
  const candidates: Candidate[] = [];
  const rejected: Rejection[] = [];
  const manual = input.policy.degrees;
  if (manual) {
    // Malformed degrees (zero, fractional) have no group size to check pods against: say what is wrong.
    const product = manual.dataParallel * manual.cfg * manual.pipefusion * manual.ring * manual.ulysses;
    const shape = checkShape(manual, product);
    if (shape.length > 0)
      return { candidates, rejected: [{ degrees: manual, gpusPerGroup: product, violations: shape }] };
  }
  const sizes = manual
    ? [manual.dataParallel * manual.cfg * manual.pipefusion * manual.ring * manual.ulysses]
    : groupSizes(input.policy.gpusPerGroup);
  for (const gpus of sizes) {
    const groupLevel = groupViolations(gpus, input);
    if (groupLevel.length > 0) {
      rejected.push(
        manual
          ? { degrees: manual, gpusPerGroup: gpus, violations: groupLevel }
          : { gpusPerGroup: gpus, violations: groupLevel },
      );
      continue;
    }
    for (const d of manual ? [manual] : factorisations(gpus)) {
      const e = evaluate(d, gpus, input, ctx);
      if ('candidate' in e) candidates.push(e.candidate);
      else rejected.push(e.rejection);
    }
  }
  return { candidates, rejected };
}

function toPlan(input: PlannerInput, best: Candidate, reason: string): ChosenPlan {
  const request: RequestShape = { ...input.request };
  return {
    schemaVersion: PLAN_SCHEMA_VERSION,
    model: { ...input.model.facts },
    request,
    degrees: { ...best.degrees },
    gpusPerGroup: best.gpusPerGroup,
    podsPerGroup: best.podsPerGroup,
    gpusPerPod: best.gpusPerPod,
    pipeline: {
      patches: best.patches,
      warmupSteps: best.warmupSteps,
      // The runtime's placement (docs/architecture.md): text encoders on rank 0 only, the VAE decode
      // patch-parallel over the replica's ranks; the memory model counts them the same way.
      textEncoders: 'leader',
      vaeDecode: { ranks: replicaRanks(best.degrees) },
    },
    ranks: rankPlacements(best.gpusPerGroup, best.gpusPerPod),
    predicted: {
      stepSeconds: best.time.stepSeconds,
      totalSeconds: best.time.totalSeconds,
      memoryBytesPerGpu: best.memory.total,
    },
    reason,
    breakdown: best.time,
    memory: best.memory,
    links: best.links,
  };
}

/**
 * Chooses the degrees for a model on a cluster: enumerates every factorisation the policy allows,
 * rejects the invalid ones with reasons, predicts the rest and ranks them by the objective. Pure: same
 * input, same result. Throws NoFeasiblePlanError (listing every reason) when nothing is feasible, and
 * PlannerInputError for malformed input.
 */
export function plan(input: PlannerInput): PlannerResult {
  const { candidates, rejected } = explore(input);
  const ranked = rankCandidates(candidates, input.policy.objective);
  const manual = input.policy.degrees;
  const decided = manual
    ? undefined
    : decide(ranked, approximatePolicy(input.policy), input.policy.objective, rejected);
  const best = manual ? ranked[0] : decided?.chosen;
  if (!best) {
    const head = manual
      ? `${planShortString(manual)} is rejected for ${input.model.name}`
      : `no feasible plan for ${input.model.name} with the given GPUs and policy`;
    const lines = explainRejections(rejected, 20);
    const more = rejected.length > lines.length ? `\n  … and ${rejected.length - lines.length} more` : '';
    throw new NoFeasiblePlanError(rejected, `${head}:\n  ${lines.join('\n  ')}${more}`);
  }
  // The chosen plan leads; the others follow best first by the objective.
  const ordered = [best, ...ranked.filter((c) => c !== best)];
  // rankCandidates made these objects for this call, and the decision points at them: renumber in place.
  ordered.forEach((c, i) => {
    c.rank = i + 1;
  });
  return {
    chosen: toPlan(input, best, explainChoice(ordered, input.policy.objective, decided?.decision.sentence)),
    candidates: ordered,
    rejected,
    ...(decided ? { decision: decided.decision } : {}),
  };
}

/** Manual mode for the operator: validates `degrees` and predicts them, or throws with the reasons. */
export function planWithDegrees(input: PlannerInput, degrees: Degrees): PlannerResult {
  return plan({ ...input, policy: { ...input.policy, degrees } });
}
