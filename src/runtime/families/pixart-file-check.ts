/**
 * A PixArt-Σ inputs file checked from its header: latents [B, in_channels, H, W] whose sides divide by
 * the patch size, prompt embeddings [B, S, caption_channels] with optional masks [B, S], and — when the
 * guidance scale runs classifier-free guidance — negative embeddings of the same shape.
 */
import type { PixartTransformerConfig } from '../checkpoint/pixart-config.js';
import { usesTrueCfg } from '../guidance/true-cfg.js';
import { fmt, type InputsCheck, type InputsFileView } from './file-check.js';

export function checkPixartInputsFile(
  c: PixartTransformerConfig,
  file: InputsFileView,
  path: string,
  steps: number,
  guidanceScale: number,
): InputsCheck {
  const missing = ['latents', 'prompt_embeds']
    .filter((n) => !file.has(n))
    .map((n) => `${path} has no tensor "${n}"`);
  const latents = file.shape('latents');
  if (!latents || missing.length > 0) return { problems: missing, facts: null };
  const problems: string[] = [];
  const [batch = 0, channels = 0, height = 0, width = 0] = latents;
  const p = c.patchSize;
  if (latents.length !== 4) problems.push(`latents is ${fmt(latents)}: PixArt takes [B, C, H, W]`);
  else if (channels !== c.inChannels)
    problems.push(`latents ${fmt(latents)} have ${channels} channels, but in_channels is ${c.inChannels}`);
  else if (height % p !== 0 || width % p !== 0)
    problems.push(`latents ${fmt(latents)}: height and width must divide by patch_size ${p}`);
  const tokens = file.shape('prompt_embeds')?.[1] ?? 0;
  const expect = (name: string, dims: number[], why: string) => {
    const shape = file.shape(name);
    if (
      shape &&
      (shape.length !== dims.length + 1 || shape[0] !== batch || dims.some((d, i) => shape[i + 1] !== d))
    ) {
      problems.push(`${name} is ${fmt(shape)}, expected ${fmt([batch, ...dims])} (${why})`);
    }
  };
  expect('prompt_embeds', [tokens, c.captionChannels], 'batch of latents; caption_channels');
  expect('negative_prompt_embeds', [tokens, c.captionChannels], 'as prompt_embeds');
  expect('prompt_attention_mask', [tokens], 'one entry per text token');
  expect('negative_prompt_attention_mask', [tokens], 'one entry per text token');
  const trueCfg = usesTrueCfg(guidanceScale);
  if (trueCfg && !file.has('negative_prompt_embeds')) {
    problems.push(
      `guidance scale ${guidanceScale} runs classifier-free guidance, which needs negative_prompt_embeds (add them, or use a guidance scale ≤ 1)`,
    );
  }
  if (problems.length > 0) return { problems, facts: null };
  const rows = height / p;
  return {
    problems,
    facts: { batch, textTokens: tokens, steps, imageTokens: rows * (width / p), tokenRows: rows, trueCfg },
  };
}
