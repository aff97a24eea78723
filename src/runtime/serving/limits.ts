/**
 * What one request may contain, derived from the plan: the group was planned (and its PipeFusion
 * patches and sequence splits sized) for one image size and batch, so requests must match it exactly.
 */
import type { Plan } from '../../shared/plan/index.js';

/** One input tensor, described per sample (the leading batch dimension is not listed). */
export interface TensorSpec {
  /** Name in a safetensors body (as `tessera denoise --inputs` reads it). */
  readonly name: string;
  /** Field name in a JSON body. */
  readonly field: string;
  readonly dims: readonly number[];
  /** `withGuidance`: required when guidanceScale exceeds ServingLimits.cfgAbove, else refused. */
  readonly presence: 'required' | 'optional' | 'withGuidance';
}

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

/** Sizes only the checkpoint knows (transformer `config.json`); the plan does not carry them. */
export interface CheckpointDims {
  /** Transformer `in_channels` (Flux: packed 4·C = 64; SD3: 16). */
  readonly inChannels: number;
  /** `joint_attention_dim`: width of each prompt embedding token. */
  readonly jointAttentionDim: number;
  /** `pooled_projection_dim`: width of the pooled prompt embedding. */
  readonly pooledProjectionDim: number;
}

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
  const text = plan.model.textTokens;
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
  const prompts: TensorSpec[] = [
    {
      name: 'prompt_embeds',
      field: 'promptEmbeds',
      dims: [text, dims.jointAttentionDim],
      presence: 'required',
    },
    {
      name: 'pooled_prompt_embeds',
      field: 'pooledPromptEmbeds',
      dims: [dims.pooledProjectionDim],
      presence: 'required',
    },
  ];
  switch (plan.model.family) {
    case 'flux': {
      // Packed latents: one token per patch, channels × patch² features (FluxPipeline's layout).
      const patch = plan.model.patchSize;
      const tokens = (latentHeight / patch) * (latentWidth / patch);
      return {
        ...common,
        cfgAbove: null,
        ignoredTensors: ['img_ids', 'txt_ids'],
        tensors: [
          { name: 'latents', field: 'latents', dims: [tokens, dims.inChannels], presence: 'required' },
          ...prompts,
        ],
      };
    }
    case 'sd3':
      return {
        ...common,
        // StableDiffusion3Pipeline runs CFG when guidance_scale > 1.
        cfgAbove: 1,
        ignoredTensors: [],
        tensors: [
          {
            name: 'latents',
            field: 'latents',
            dims: [dims.inChannels, latentHeight, latentWidth],
            presence: 'required',
          },
          ...prompts,
          {
            name: 'negative_prompt_embeds',
            field: 'negativePromptEmbeds',
            dims: [text, dims.jointAttentionDim],
            presence: 'withGuidance',
          },
          {
            name: 'negative_pooled_prompt_embeds',
            field: 'negativePooledPromptEmbeds',
            dims: [dims.pooledProjectionDim],
            presence: 'withGuidance',
          },
        ],
      };
    default:
      throw new Error(`serving ${plan.model.family} is not supported yet (flux and sd3 are)`);
  }
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
