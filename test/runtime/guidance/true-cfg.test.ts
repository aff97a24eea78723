import { describe, expect, it } from 'vitest';
import { combineGuidance, usesTrueCfg } from '../../../src/runtime/guidance/true-cfg.js';
import { REFERENCE_DIR, referenceManifest } from '../../support/reference-fixtures.js';
import { SafetensorsLite } from '../../support/safetensors-lite.js';

describe('true CFG vs the SD3 pipeline', () => {
  const cases = referenceManifest()
    .checkpoints.filter((c) => c.family === 'sd3')
    .flatMap((c) => c.cases.filter((x) => x.kind === 'denoise').map((x) => ({ ckpt: c.name, c: x })));

  it('has CFG denoise fixtures to compare with', () => {
    expect(cases.length).toBeGreaterThanOrEqual(2);
  });

  for (const { ckpt, c } of cases) {
    it(`${ckpt}/${c.case}: every step's guided velocity, bit for bit`, () => {
      const file = new SafetensorsLite(`${REFERENCE_DIR}/${c.file}`);
      const scale = c.guidance_scale ?? Number.NaN;
      expect(usesTrueCfg(scale)).toBe(true);
      for (let i = 0; i < (c.steps ?? 0); i++) {
        const guided = combineGuidance(
          file.f32(`step${i}.noise_pred_uncond`),
          file.f32(`step${i}.noise_pred_cond`),
          scale,
        );
        expect(guided).toEqual(file.f32(`step${i}.noise_pred`));
      }
    });
  }

  it('rejects mismatched halves', () => {
    expect(() => combineGuidance(new Float32Array(4), new Float32Array(3), 5)).toThrow(
      /uncond has 4 values but cond 3/,
    );
    expect(usesTrueCfg(1)).toBe(false);
  });
});
