/** Request values shared by every entry point (the HTTP API, `tessera denoise`, `tessera generate`). */

/**
 * The largest guidance scale, as the CRD's spec.request.guidanceScale allows: useful values are 1–20,
 * and far larger ones overflow float32 inside the model (1e308 turned every latent into NaN).
 */
export const MAX_GUIDANCE_SCALE = 100;

/** Diffusers' pipeline defaults when no guidance scale is given (FluxPipeline 3.5, StableDiffusion3Pipeline 7.0). */
export const DEFAULT_GUIDANCE = { flux: 3.5, sd3: 7.0 } as const;

/** SD3's pipelines run true classifier-free guidance when the scale exceeds this. */
export const TRUE_CFG_ABOVE = 1;
