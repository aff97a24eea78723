/**
 * What one request may contain, derived from the plan: the group was planned (and its PipeFusion
 * patches and sequence splits sized) for one image size and batch, so requests must match it exactly.
 */
import type { Plan } from '../../shared/plan/index.js';
import { familyByName, type InputDims, type InputSpec } from '../families/index.js';

/**
 * One input tensor, described per sample (the leading batch dimension is not listed); which tensors a
 * request carries is the model family's (src/runtime/families/).
 */
export type TensorSpec = InputSpec;

export interface ServingLimits {
  readonly height: number;
  readonly width: number;
  /** Largest sum of request batch sizes per executor run; a single request's batch may not exceed it. */
  readonly maxBatch: number;
  readonly minSteps: number;
  readonly maxSteps: number;
  readonly defaultSteps: number;
  readonly defaultGuidanceScale: number;
  /** Guidance above this runs true classifier-free guidance; null: the model has none. */
  readonly cfgAbove: number | null;
  /**
   * The group runs the two CFG branches on separate ranks (degrees.cfg = 2), so every request must
   * use CFG: guidance above cfgAbove, with negative embeddings.
   */
  readonly cfgRequired: boolean;
  readonly tensors: readonly TensorSpec[];
  /**
   * Tensor names a safetensors body may carry that the server drops: Flux position ids, which
   * `tessera denoise --inputs` files hold but which follow from the plan's image size.
   */
  readonly ignoredTensors: readonly string[];
  readonly defaultTimeoutMs: number;
  readonly maxTimeoutMs: number;
}

/**
 * Sizes only the checkpoint knows (transformer `config.json`; the plan does not carry them), named as the
 * family names them (Architecture.inputDims), e.g. inChannels, jointAttentionDim, pooledProjectionDim.
 */
export type CheckpointDims = InputDims;

export interface LimitOverrides {
  readonly maxSteps?: number;
  readonly defaultTimeoutMs?: number;
  readonly maxTimeoutMs?: number;
}

/** A generous ceiling on steps: far above any scheduler's use, low enough to bound one request's cost. */
const STEPS_CEILING = 100;

const DEFAULT_TIMEOUT_MS = 300_000;
const MAX_TIMEOUT_MS = 3_600_000;

export function servingLimitsFromPlan(
  plan: Plan,
  dims: CheckpointDims,
  overrides: LimitOverrides = {},
): ServingLimits {
  const { height, width, maxBatch, steps, guidanceScale } = plan.request;
  const latentHeight = height / plan.model.vaeScaleFactor;
  const latentWidth = width / plan.model.vaeScaleFactor;
  const common = {
    height,
    width,
    maxBatch,
    minSteps: 1,
    maxSteps: overrides.maxSteps ?? Math.max(STEPS_CEILING, steps),
    defaultSteps: steps,
    defaultGuidanceScale: guidanceScale,
    defaultTimeoutMs: overrides.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS,
    maxTimeoutMs: overrides.maxTimeoutMs ?? MAX_TIMEOUT_MS,
    cfgRequired: plan.degrees.cfg > 1,
  };
  const inputs = familyByName(plan.model.family).requestInputs(
    { latentHeight, latentWidth, textTokens: plan.model.textTokens },
    dims,
  );
  return { ...common, cfgAbove: inputs.cfgAbove, ignoredTensors: inputs.ignored, tensors: inputs.tensors };
}

const JSON_OVERHEAD_BYTES = 64 * 1024;

/** Samples × f32 bytes of every tensor at full batch. */
export function maxTensorBytes(limits: ServingLimits): number {
  let elements = 0;
  for (const spec of limits.tensors) elements += spec.dims.reduce((a, b) => a * b, 1);
  return elements * 4 * limits.maxBatch;
}

/**
 * Largest body worth reading: every tensor at full batch, base64-inflated (4/3) for JSON, plus room
 * for field names, shapes and a safetensors header. Anything larger cannot be valid, so it gets 413
 * before it costs memory.
 */
export function maxBodyBytes(limits: ServingLimits): number {
  return Math.ceil((maxTensorBytes(limits) * 4) / 3) + JSON_OVERHEAD_BYTES;
}
