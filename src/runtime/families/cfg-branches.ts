/**
 * The branches of a request on a family with classic classifier-free guidance (SD3, PixArt-Σ): [cond]
 * when the scale turns guidance off (diffusers: guidance_scale ≤ 1), [uncond, cond] otherwise.
 */
import { usesTrueCfg } from '../guidance/true-cfg.js';
import type { Conditioning, GuidanceMode } from './family.js';

export function cfgBranches(
  guidanceScale: number,
  cond: Conditioning,
  /** The negative branch's conditioning; throws naming the inputs it lacks. */
  uncond: () => Conditioning,
): { guidance: GuidanceMode; branches: Conditioning[] } {
  if (!usesTrueCfg(guidanceScale)) {
    return {
      guidance: {
        kind: 'none',
        why: `guidance scale ${guidanceScale} ≤ 1 turns classifier-free guidance off`,
      },
      branches: [cond],
    };
  }
  return { guidance: { kind: 'cfg', scale: guidanceScale }, branches: [uncond(), cond] };
}
