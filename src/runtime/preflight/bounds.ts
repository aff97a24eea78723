/** Request values shared by every entry point (the HTTP API, `tessera denoise`, `tessera generate`). */

/**
 * The largest guidance scale, as the CRD's spec.request.guidanceScale allows: useful values are 1–20,
 * and far larger ones overflow float32 inside the model (1e308 turned every latent into NaN).
 */
export const MAX_GUIDANCE_SCALE = 100;

// The default guidance scale and when a scale runs true CFG are the model family's: src/runtime/families/.
