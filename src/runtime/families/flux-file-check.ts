/**
 * A Flux inputs file checked from its header: latents packed [B, N, 4C] with img_ids, or unpacked
 * [B, C, h, w] with an even height and width; 4C must be in_channels. The token rows come from the ids
 * (packed) or the latent height (unpacked), for the degree checks.
 */
import type { FluxTransformerConfig } from '../checkpoint/flux-config.js';
import { fmt, type InputsCheck, type InputsFileView } from './file-check.js';
import { checkPrompts } from './mmdit.js';

function fluxRows(file: InputsFileView, latents: readonly number[], problems: string[]): number | null {
  if (latents.length === 4) {
    const [, , h = 0, w = 0] = latents;
    if (h % 2 !== 0 || w % 2 !== 0) {
      problems.push(`latents ${fmt(latents)}: the latent height and width must be even (2×2 packing)`);
      return null;
    }
    return h / 2;
  }
  const ids = file.shape('img_ids');
  if (!ids) {
    problems.push('packed latents [B, N, C] need img_ids [N, 3]; or give unpacked latents [B, C, h, w]');
    return null;
  }
  if (ids.length !== 2 || ids[0] !== latents[1] || ids[1] !== 3) {
    problems.push(`img_ids is ${fmt(ids)}, expected [${latents[1]}, 3] (one (0, row, col) per latent token)`);
    return null;
  }
  const data = file.readF32('img_ids');
  let rows = 0;
  for (let i = 1; i < data.length; i += 3) rows = Math.max(rows, (data[i] ?? 0) + 1);
  return rows;
}

export function checkFluxInputsFile(
  c: FluxTransformerConfig,
  file: InputsFileView,
  path: string,
  steps: number,
): InputsCheck {
  const start = checkPrompts(file, path, c, steps);
  if (start.done) return start.check;
  const { latents, common, problems } = start;
  const packed = latents.length === 3;
  if (!packed && latents.length !== 4) {
    problems.push(`latents is ${fmt(latents)}: Flux takes packed [B, N, C] or unpacked [B, C, h, w]`);
    return { problems, facts: null };
  }
  const channels = packed ? latents[2] : (latents[1] ?? 0) * 4;
  if (channels !== c.inChannels) {
    problems.push(
      `latents ${fmt(latents)} give ${channels} packed channels, but in_channels is ${c.inChannels}`,
    );
    return { problems, facts: null };
  }
  const rows = fluxRows(file, latents, problems);
  if (rows === null) return { problems, facts: null };
  const tokens = packed ? (latents[1] ?? 0) : ((latents[2] ?? 0) / 2) * ((latents[3] ?? 0) / 2);
  return { problems, facts: { ...common, imageTokens: tokens, tokenRows: rows, trueCfg: false } };
}
