/**
 * Denoise requests read from files, shared by `tessera denoise` (the one-process reference) and the
 * parallel runtime, so both accept the same inputs: the scheduler config next to the checkpoint and the
 * `--inputs` safetensors turned into DenoiseInputs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { log } from '../../shared/log.js';
import type { LoadedTransformer, NamedTensors } from '../model-loader/index.js';
import { imageIds, packLatents, textIds } from '../models/flux/packing.js';
import { type FlowMatchEulerConfig, parseFlowMatchEulerConfig } from '../scheduler/flow-match-config.js';
import type { DenoiseInputs } from './inputs.js';

const logger = log.child({ component: 'denoise' });

export function readSchedulerConfig(folder: string): FlowMatchEulerConfig {
  const path = join(folder, 'scheduler', 'scheduler_config.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new Error(`cannot read the scheduler config ${path}: ${(cause as Error).message}`, { cause });
  }
  return parseFlowMatchEulerConfig(raw, path);
}

/** How many ignored names a warning lists; the count says how many there were. */
const LOGGED_NAMES = 10;

const FLUX_NAMES = ['latents', 'prompt_embeds', 'pooled_prompt_embeds', 'img_ids', 'txt_ids'];
const SD3_NAMES = [
  'latents',
  'prompt_embeds',
  'pooled_prompt_embeds',
  'negative_prompt_embeds',
  'negative_pooled_prompt_embeds',
];

/** Denoiser inputs from the named tensors; `unpackTo` is set when Flux latents came unpacked. */
export function denoiseInputs(
  loaded: LoadedTransformer,
  named: NamedTensors,
): { inputs: DenoiseInputs; unpackTo: { height: number; width: number } | null } {
  const unknown = named.unknown(loaded.family === 'flux' ? FLUX_NAMES : SD3_NAMES);
  if (unknown.length > 0) {
    logger.warn(
      { ignored: unknown.slice(0, LOGGED_NAMES), ignoredCount: unknown.length },
      'inputs file has tensors the denoiser does not read',
    );
  }
  const latents = named.required('latents', 'the initial noise');
  const promptEmbeds = named.required('prompt_embeds', 'the text embeddings');
  const pooledPromptEmbeds = named.required('pooled_prompt_embeds', 'the pooled text embedding');
  if (loaded.family === 'sd3') {
    return {
      inputs: {
        family: 'sd3',
        latents,
        promptEmbeds,
        pooledPromptEmbeds,
        negativePromptEmbeds: named.optional('negative_prompt_embeds'),
        negativePooledPromptEmbeds: named.optional('negative_pooled_prompt_embeds'),
      },
      unpackTo: null,
    };
  }
  const txtIds = named.optional('txt_ids') ?? textIds(promptEmbeds.size(1));
  if (latents.rank === 4) {
    const [, , height, width] = latents.shape as [number, number, number, number];
    return {
      inputs: {
        family: 'flux',
        latents: packLatents(latents),
        imgIds: imageIds(height, width),
        txtIds,
        promptEmbeds,
        pooledPromptEmbeds,
      },
      unpackTo: { height, width },
    };
  }
  const imgIds = named.required(
    'img_ids',
    'packed latents need their position ids; or give unpacked latents [B,C,h,w]',
  );
  return {
    inputs: { family: 'flux', latents, imgIds, txtIds, promptEmbeds, pooledPromptEmbeds },
    unpackTo: null,
  };
}
