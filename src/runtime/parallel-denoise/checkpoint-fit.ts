/**
 * The runtime's check of a plan against the checkpoint it actually loaded and the request it got
 * (design.md: "the runtime checks the plan against the real checkpoint"). Every rank runs it before
 * loading weights, so a plan that does not fit ends every worker with the same one-line reason.
 */

import type { Degrees, PipelineSettings } from '../../shared/plan/index.js';
import { type ArchitectureFacts, architectureOf, type TransformerConfig } from '../families/index.js';

export class PlanMismatchError extends Error {
  override readonly name = 'PlanMismatchError';
}

/** What the checks need from the checkpoint (a family's ArchitectureFacts). */
export type CheckpointFacts = Pick<ArchitectureFacts, 'label' | 'heads' | 'blocks' | 'trueCfg'>;

/** The facts of a parsed config, through its family. */
export function checkpointFacts(config: TransformerConfig): ArchitectureFacts {
  return architectureOf(config).facts;
}

/** What the request looks like, as far as the degrees care. */
export interface RequestFacts {
  batch: number;
  /** Image tokens per prompt (the family's token geometry). */
  imageTokens: number;
  /** Rows of image tokens. */
  tokenRows: number;
  textTokens: number;
  steps: number;
  /** Whether the request runs true classifier-free guidance (two branches). */
  trueCfg: boolean;
}

/** Degrees and pipeline settings that depend only on the checkpoint (checked before any weight is read). */
export function checkDegreesFitModel(
  degrees: Degrees,
  facts: CheckpointFacts,
  pipeline: PipelineSettings,
): void {
  const reasons: string[] = [];
  if (facts.heads % degrees.ulysses !== 0) {
    reasons.push(
      `degrees.ulysses = ${degrees.ulysses} does not divide the checkpoint's ${facts.heads} attention heads`,
    );
  }
  if (degrees.cfg !== 1 && degrees.cfg !== 2)
    reasons.push(`degrees.cfg = ${degrees.cfg}: CFG parallel is 1 or 2`);
  if (degrees.cfg === 2 && !facts.trueCfg) {
    reasons.push(
      `degrees.cfg = 2 needs true classifier-free guidance, but ${facts.label} is guidance-distilled`,
    );
  }
  if (degrees.pipefusion > facts.blocks) {
    reasons.push(
      `degrees.pipefusion = ${degrees.pipefusion} exceeds the checkpoint's ${facts.blocks} transformer blocks`,
    );
  }
  if (degrees.pipefusion === 1 && pipeline.patches !== 1) {
    reasons.push(`pipeline.patches = ${pipeline.patches} needs PipeFusion (degrees.pipefusion > 1)`);
  }
  if (reasons.length > 0)
    throw new PlanMismatchError(`the plan does not fit the checkpoint: ${reasons.join('; ')}`);
}

/** Degrees against the request's shapes (checked once the inputs are read). */
export function checkDegreesFitRequest(
  degrees: Degrees,
  request: RequestFacts,
  pipeline: PipelineSettings,
): void {
  const reasons: string[] = [];
  const sp = degrees.ulysses * degrees.ring;
  if (request.tokenRows % sp !== 0) {
    reasons.push(
      `ulysses × ring = ${sp} does not divide the ${request.tokenRows} rows of image tokens (latent height / patch)`,
    );
  }
  if (degrees.cfg === 2 && !request.trueCfg) {
    reasons.push(
      'degrees.cfg = 2 needs classifier-free guidance: use a guidance scale > 1 with negative embeddings',
    );
  }
  if (degrees.dataParallel > request.batch) {
    reasons.push(
      `degrees.dataParallel = ${degrees.dataParallel} exceeds the batch of ${request.batch} prompts`,
    );
  }
  if (degrees.pipefusion > 1) {
    const rowsPerPatch = request.tokenRows / pipeline.patches;
    if (!Number.isInteger(rowsPerPatch) || rowsPerPatch % sp !== 0) {
      reasons.push(
        `pipeline.patches = ${pipeline.patches} must cut the ${request.tokenRows} token rows into equal bands ` +
          `whose height divides by ulysses × ring = ${sp}`,
      );
    }
    if (degrees.ring > 1 && pipeline.warmupSteps < request.steps) {
      reasons.push(
        `degrees.ring = ${degrees.ring} with PipeFusion needs pipeline.warmupSteps = steps (${request.steps}): ` +
          'patch steps keep KV buffers per Ulysses head group, which do not rotate around a ring',
      );
    }
    if (pipeline.warmupSteps < 1) {
      reasons.push('pipeline.warmupSteps must be >= 1: the first step fills every layer’s KV buffer');
    }
  }
  if (reasons.length > 0)
    throw new PlanMismatchError(`the plan does not fit the request: ${reasons.join('; ')}`);
}
