/**
 * An SD3 inputs file checked from its header: latents [B, in_channels, H, W] whose sides divide by the
 * patch size, and — when the guidance scale runs classifier-free guidance — negative embeddings.
 */
import type { Sd3TransformerConfig } from '../checkpoint/sd3-config.js';
import { usesTrueCfg } from '../guidance/true-cfg.js';
import { fmt, type InputsCheck, type InputsFileView } from './file-check.js';
import { checkPrompts } from './mmdit.js';

export function checkSd3InputsFile(
  c: Sd3TransformerConfig,
  file: InputsFileView,
  path: string,
  steps: number,
  guidanceScale: number,
): InputsCheck {
  const start = checkPrompts(file, path, c, steps);
  if (start.done) return start.check;
  const { latents, common, problems } = start;
  const prompts = problems.length;
  const [, channels = 0, height = 0, width = 0] = latents;
  const patch = c.patchSize;
  if (latents.length !== 4) problems.push(`latents is ${fmt(latents)}: SD3 takes [B, C, H, W]`);
  else if (channels !== c.inChannels) {
    problems.push(`latents ${fmt(latents)} have ${channels} channels, but in_channels is ${c.inChannels}`);
  } else if (height % patch !== 0 || width % patch !== 0) {
    problems.push(`latents ${fmt(latents)}: height and width must divide by patch_size ${patch}`);
  }
  const trueCfg = usesTrueCfg(guidanceScale);
  if (trueCfg && !(file.has('negative_prompt_embeds') && file.has('negative_pooled_prompt_embeds'))) {
    problems.push(
      `guidance scale ${guidanceScale} runs classifier-free guidance, which needs negative_prompt_embeds ` +
        'and negative_pooled_prompt_embeds (add them, or use a guidance scale ≤ 1)',
    );
  }
  if (problems.length > prompts) return { problems, facts: null };
  const facts = {
    ...common,
    imageTokens: (height / patch) * (width / patch),
    tokenRows: height / patch,
    trueCfg,
  };
  return { problems, facts };
}
