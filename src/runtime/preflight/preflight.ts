/**
 * The checks a request passes before any worker starts: the guidance scale, the inputs' shapes against
 * the checkpoint's config, and the parallel degrees against both — each a few header reads, where the
 * same problem found inside the ranks costs a group start and a weight load (10–22 s on the tiny
 * checkpoints) and comes back once per rank. `tessera denoise` and `tessera generate` call it; the
 * ranks keep their own checks for a launcher started by hand.
 */

import type { Degrees, PipelineSettings } from '../../shared/plan/index.js';
import { architectureOf, readTransformerConfig } from '../families/index.js';
import {
  checkDegreesFitModel,
  checkDegreesFitRequest,
  PlanMismatchError,
  type RequestFacts,
} from '../parallel-denoise/checkpoint-fit.js';
import { MAX_GUIDANCE_SCALE } from './bounds.js';
import { checkInputsFile, type InputsCheck, nonFiniteInputs } from './input-shapes.js';

export class PreflightError extends Error {
  override readonly name = 'PreflightError';
  constructor(readonly problems: readonly string[]) {
    super(`the request cannot run: ${problems.join('; ')}`);
  }
}

export interface GroupShape {
  degrees: Degrees;
  pipeline: PipelineSettings;
}

export const ONE_PROCESS: GroupShape = {
  degrees: { dataParallel: 1, cfg: 1, pipefusion: 1, ring: 1, ulysses: 1 },
  pipeline: { patches: 1, warmupSteps: 1 },
};

/** The guidance scale's bound; returns the problem or null. */
export function guidanceProblem(guidanceScale: number): string | null {
  if (Number.isFinite(guidanceScale) && guidanceScale >= 0 && guidanceScale <= MAX_GUIDANCE_SCALE)
    return null;
  return `guidance scale ${guidanceScale} is outside 0 to ${MAX_GUIDANCE_SCALE}`;
}

function reasonsOf(check: () => void): string[] {
  try {
    check();
    return [];
  } catch (err) {
    if (err instanceof PlanMismatchError) return [err.message];
    throw err;
  }
}

/**
 * Degrees against a request described by its facts (`tessera generate` builds them from the image size
 * and prompt count); throws PreflightError naming every problem.
 */
export function preflightFacts(
  modelPath: string,
  group: GroupShape,
  facts: RequestFacts,
  guidanceScale: number,
): void {
  const { facts: model } = architectureOf(readTransformerConfig(modelPath));
  const problems = [
    ...[guidanceProblem(guidanceScale)].filter((p): p is string => p !== null),
    ...reasonsOf(() => checkDegreesFitModel(group.degrees, model, group.pipeline)),
    ...reasonsOf(() => checkDegreesFitRequest(group.degrees, facts, group.pipeline)),
  ];
  if (problems.length > 0) throw new PreflightError(problems);
}

export interface DenoiseRequestFiles {
  /** The Diffusers model folder. */
  model: string;
  /** The inputs safetensors file. */
  inputs: string;
  steps: number;
  /** null: the pipeline's default for the family. */
  guidanceScale: number | null;
}

/** An unreadable inputs file is one more problem, listed with the others. */
function readableInputs(path: string, check: () => InputsCheck): InputsCheck {
  try {
    return check();
  } catch (err) {
    return { problems: [`cannot read the inputs ${path}: ${(err as Error).message}`], facts: null };
  }
}

/** `tessera denoise`: the inputs file against the checkpoint and the degrees; throws PreflightError. */
export function preflightDenoise(request: DenoiseRequestFiles, group: GroupShape): void {
  const arch = architectureOf(readTransformerConfig(request.model));
  const guidanceScale = request.guidanceScale ?? arch.family.defaultGuidanceScale;
  const guidance = guidanceProblem(guidanceScale);
  const fit = reasonsOf(() => checkDegreesFitModel(group.degrees, arch.facts, group.pipeline));
  const inputs = readableInputs(request.inputs, () =>
    checkInputsFile(request.inputs, arch, request.steps, guidanceScale),
  );
  const problems = [...(guidance ? [guidance] : []), ...fit, ...inputs.problems];
  if (inputs.facts) problems.push(...nonFiniteInputs(request.inputs));
  if (inputs.facts) {
    problems.push(
      ...reasonsOf(() => checkDegreesFitRequest(group.degrees, inputs.facts as RequestFacts, group.pipeline)),
    );
  }
  if (problems.length > 0) throw new PreflightError(problems);
}
