/**
 * True classifier-free guidance as the SD3 pipeline applies it to the [uncond, cond] batch:
 * v = v_uncond + scale · (v_cond − v_uncond), each operation rounded to float32 like torch's.
 * (Flux-dev instead embeds the guidance value inside the model: one pass, no combination.)
 */
export function combineGuidance(
  uncond: Float32Array,
  cond: Float32Array,
  scale: number,
  out: Float32Array = new Float32Array(uncond.length),
): Float32Array {
  if (cond.length !== uncond.length || out.length !== uncond.length) {
    throw new Error(
      `true CFG: uncond has ${uncond.length} values but cond ${cond.length} and out ${out.length}; they must match`,
    );
  }
  if (!Number.isFinite(scale))
    throw new Error(`true CFG: guidance scale must be a finite number, got ${scale}`);
  const s = Math.fround(scale);
  for (let i = 0; i < uncond.length; i++) {
    const u = uncond[i] as number;
    out[i] = u + Math.fround(s * Math.fround((cond[i] as number) - u));
  }
  return out;
}

/** Whether a request needs the two-branch CFG batch at all (diffusers: guidance_scale > 1). */
export const usesTrueCfg = (scale: number): boolean => scale > 1;
