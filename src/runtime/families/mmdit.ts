/**
 * What FLUX and SD3 share as MM-DiT transformers (text and image streams joined in attention, a pooled
 * text embedding in the conditioning): the sizes of their request inputs, and the Diffusers `forward`
 * arguments both take.
 */
import type { NamedTensors } from '../model-loader/named-tensors.js';
import type { Tensor } from '../native/index.js';
import type { RequestFacts } from '../parallel-denoise/checkpoint-fit.js';
import type { InputDims } from './family.js';
import { fmt, type InputsCheck, type InputsFileView } from './file-check.js';

export interface MmditSizes {
  inChannels: number;
  jointAttentionDim: number;
  pooledProjectionDim: number;
}

export function mmditInputDims(c: MmditSizes): InputDims {
  return {
    inChannels: c.inChannels,
    jointAttentionDim: c.jointAttentionDim,
    pooledProjectionDim: c.pooledProjectionDim,
  };
}

/** hidden_states, encoder_hidden_states, pooled_projections and one timestep per sample. */
export function mmditForwardArgs(named: NamedTensors): {
  hiddenStates: Tensor;
  encoderHiddenStates: Tensor;
  pooledProjections: Tensor;
  timestep: number[];
} {
  const hiddenStates = named.required('hidden_states', 'the latents');
  return {
    hiddenStates,
    encoderHiddenStates: named.required('encoder_hidden_states', 'the text embeddings'),
    pooledProjections: named.required('pooled_projections', 'the pooled text embedding'),
    timestep: named.scalars('timestep', hiddenStates.size(0), 'one timestep per sample'),
  };
}

/** A value built on first use (the manifest is built only after the block counts were checked). */
export function once<T>(build: () => T): () => T {
  let value: T | undefined;
  return () => {
    value ??= build();
    return value;
  };
}

/** The start of an MM-DiT inputs file check: the latents' shape, and the prompts' problems so far. */
export type PromptCheck =
  | { done: true; check: InputsCheck }
  | {
      done: false;
      latents: readonly number[];
      common: Pick<RequestFacts, 'batch' | 'textTokens' | 'steps'>;
      problems: string[];
    };

/**
 * The tensors every MM-DiT inputs file has (a missing one ends the check, naming the file), then the
 * prompt tensors against the batch of the latents, joint_attention_dim and pooled_projection_dim.
 * Prompt problems are reported but do not hide the latents' facts from the degree checks.
 */
export function checkPrompts(file: InputsFileView, path: string, c: MmditSizes, steps: number): PromptCheck {
  const missing = ['latents', 'prompt_embeds', 'pooled_prompt_embeds']
    .filter((name) => !file.has(name))
    .map((name) => `${path} has no tensor "${name}"`);
  const latents = file.shape('latents');
  if (!latents || missing.length > 0) return { done: true, check: { problems: missing, facts: null } };
  const batch = latents[0] ?? 0;
  const problems: string[] = [];
  const expect = (name: string, dims: number[], field: string) => {
    const shape = file.shape(name);
    if (!shape) return;
    if (shape.length !== dims.length + 1 || shape[0] !== batch || dims.some((d, i) => shape[i + 1] !== d)) {
      problems.push(
        `${name} is ${fmt(shape)}, expected ${fmt([batch, ...dims])} (batch of latents; ${field})`,
      );
    }
  };
  const tokens = file.shape('prompt_embeds')?.[1] ?? 0;
  expect('prompt_embeds', [tokens, c.jointAttentionDim], 'joint_attention_dim');
  expect('negative_prompt_embeds', [tokens, c.jointAttentionDim], 'as prompt_embeds');
  expect('pooled_prompt_embeds', [c.pooledProjectionDim], 'pooled_projection_dim');
  expect('negative_pooled_prompt_embeds', [c.pooledProjectionDim], 'as pooled_prompt_embeds');
  return { done: false, latents, common: { batch, textTokens: tokens, steps }, problems };
}
