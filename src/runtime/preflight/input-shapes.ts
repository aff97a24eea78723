/**
 * What a denoise inputs file holds, read from its header alone (plus Flux's small img_ids), checked
 * against the checkpoint's config: every shape problem is found before a worker starts or a weight is
 * read, and the request's facts (batch, token rows, CFG) come out for the degree checks.
 */
import type { TransformerConfig } from '../checkpoint/index.js';
import { SafetensorsFile } from '../native/index.js';
import type { RequestFacts } from '../parallel-denoise/checkpoint-fit.js';
import { TRUE_CFG_ABOVE } from './bounds.js';

export interface InputsCheck {
  /** Everything wrong with the file, each naming the tensor and what the config expects. */
  problems: string[];
  /** The request as the degree checks see it; null when the shapes are too wrong to tell. */
  facts: RequestFacts | null;
}

const fmt = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

interface Shapes {
  get(name: string): readonly number[] | undefined;
}

/** Problems with the prompt tensors (shared by both families) and the batch they agree on. */
function promptProblems(
  shapes: Shapes,
  batch: number,
  text: number,
  pooled: number,
  problems: string[],
): void {
  const expect = (name: string, dims: number[], field: string) => {
    const shape = shapes.get(name);
    if (!shape) return;
    if (shape.length !== dims.length + 1 || shape[0] !== batch || dims.some((d, i) => shape[i + 1] !== d)) {
      problems.push(
        `${name} is ${fmt(shape)}, expected ${fmt([batch, ...dims])} (batch of latents; ${field})`,
      );
    }
  };
  const tokens = shapes.get('prompt_embeds')?.[1] ?? 0;
  expect('prompt_embeds', [tokens, text], 'joint_attention_dim');
  expect('negative_prompt_embeds', [tokens, text], 'as prompt_embeds');
  expect('pooled_prompt_embeds', [pooled], 'pooled_projection_dim');
  expect('negative_pooled_prompt_embeds', [pooled], 'as pooled_prompt_embeds');
}

function fluxRows(file: SafetensorsFile, latents: readonly number[], problems: string[]): number | null {
  if (latents.length === 4) {
    const [, , h = 0, w = 0] = latents;
    if (h % 2 !== 0 || w % 2 !== 0) {
      problems.push(`latents ${fmt(latents)}: the latent height and width must be even (2×2 packing)`);
      return null;
    }
    return h / 2;
  }
  if (!file.has('img_ids')) {
    problems.push('packed latents [B, N, C] need img_ids [N, 3]; or give unpacked latents [B, C, h, w]');
    return null;
  }
  const ids = file.info('img_ids').shape;
  if (ids.length !== 2 || ids[0] !== latents[1] || ids[1] !== 3) {
    problems.push(`img_ids is ${fmt(ids)}, expected [${latents[1]}, 3] (one (0, row, col) per latent token)`);
    return null;
  }
  const values = file.read('img_ids', { dtype: 'f32' });
  const data = values.toFloat32Array();
  values.release();
  let rows = 0;
  for (let i = 1; i < data.length; i += 3) rows = Math.max(rows, (data[i] ?? 0) + 1);
  return rows;
}

export function checkInputsFile(
  path: string,
  config: TransformerConfig,
  steps: number,
  guidanceScale: number,
): InputsCheck {
  const file = SafetensorsFile.open(path);
  try {
    const shapes: Shapes = { get: (name) => (file.has(name) ? file.info(name).shape : undefined) };
    const missing = ['latents', 'prompt_embeds', 'pooled_prompt_embeds']
      .filter((name) => !file.has(name))
      .map((name) => `${path} has no tensor "${name}"`);
    const latents = shapes.get('latents');
    if (!latents || missing.length > 0) return { problems: missing, facts: null };
    const batch = latents[0] ?? 0;
    // Prompt problems are reported, but do not hide the latents' facts from the degree checks.
    const prompts: string[] = [];
    promptProblems(shapes, batch, config.jointAttentionDim, config.pooledProjectionDim, prompts);
    const request = { batch, textTokens: shapes.get('prompt_embeds')?.[1] ?? 0, steps };
    const result =
      config.className === 'FluxTransformer2DModel'
        ? fluxFacts(file, config.inChannels, latents, request)
        : sd3Facts(file, config.inChannels, config.patchSize, latents, request, guidanceScale);
    return { problems: [...prompts, ...result.problems], facts: result.facts };
  } finally {
    file.close();
  }
}

type CommonFacts = Pick<RequestFacts, 'batch' | 'textTokens' | 'steps'>;

function fluxFacts(
  file: SafetensorsFile,
  inChannels: number,
  latents: readonly number[],
  common: CommonFacts,
): InputsCheck {
  const packed = latents.length === 3;
  if (!packed && latents.length !== 4) {
    return {
      problems: [`latents is ${fmt(latents)}: Flux takes packed [B, N, C] or unpacked [B, C, h, w]`],
      facts: null,
    };
  }
  const channels = packed ? latents[2] : (latents[1] ?? 0) * 4;
  if (channels !== inChannels) {
    const problem = `latents ${fmt(latents)} give ${channels} packed channels, but in_channels is ${inChannels}`;
    return { problems: [problem], facts: null };
  }
  const problems: string[] = [];
  const rows = fluxRows(file, latents, problems);
  if (rows === null) return { problems, facts: null };
  const tokens = packed ? (latents[1] ?? 0) : ((latents[2] ?? 0) / 2) * ((latents[3] ?? 0) / 2);
  return { problems, facts: { ...common, imageTokens: tokens, tokenRows: rows, trueCfg: false } };
}

function sd3Facts(
  file: SafetensorsFile,
  inChannels: number,
  patch: number,
  latents: readonly number[],
  common: CommonFacts,
  guidanceScale: number,
): InputsCheck {
  const [, channels = 0, height = 0, width = 0] = latents;
  const problems: string[] = [];
  if (latents.length !== 4) problems.push(`latents is ${fmt(latents)}: SD3 takes [B, C, H, W]`);
  else if (channels !== inChannels) {
    problems.push(`latents ${fmt(latents)} have ${channels} channels, but in_channels is ${inChannels}`);
  } else if (height % patch !== 0 || width % patch !== 0) {
    problems.push(`latents ${fmt(latents)}: height and width must divide by patch_size ${patch}`);
  }
  const trueCfg = guidanceScale > TRUE_CFG_ABOVE;
  if (trueCfg && !(file.has('negative_prompt_embeds') && file.has('negative_pooled_prompt_embeds'))) {
    problems.push(
      `guidance scale ${guidanceScale} runs classifier-free guidance, which needs negative_prompt_embeds ` +
        'and negative_pooled_prompt_embeds (add them, or use a guidance scale ≤ 1)',
    );
  }
  if (problems.length > 0) return { problems, facts: null };
  const facts = {
    ...common,
    imageTokens: (height / patch) * (width / patch),
    tokenRows: height / patch,
    trueCfg,
  };
  return { problems, facts };
}
