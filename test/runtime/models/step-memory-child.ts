/**
 * Loads a bf16 Flux checkpoint (held bf16, as the loader does by default on the CPU) in a fresh process and
 * runs denoising steps: `node --expose-gc --import tsx step-memory-child.ts <folder> <steps>` prints
 * `RESULT {"weightBytes", "f32Bytes", "stepGrowthKb": [...]}`. Each step's growth is its VmHWM (reset with
 * clear_refs 5 just before it) less the resident size after the load, so it counts every byte the step
 * holds at any moment: activations, scratch, and any copy of the weights.
 */
import { writeFileSync } from 'node:fs';
import { denoise } from '../../../src/runtime/denoise/index.js';
import { loadTransformer } from '../../../src/runtime/model-loader/index.js';
import { imageIds, textIds } from '../../../src/runtime/models/flux/packing.js';
import { Tensor } from '../../../src/runtime/native/index.js';
import { FLOW_MATCH_EULER_DEFAULTS } from '../../../src/runtime/scheduler/flow-match-config.js';
import { statusKb } from '../../support/memory-child.js';
import { rng } from '../../support/rng.js';

const [folder, steps] = process.argv.slice(2);
if (!folder || !steps) throw new Error('usage: step-memory-child.ts <folder> <steps>');
const loaded = loadTransformer(folder);
let weightBytes = 0;
let f32Bytes = 0;
for (const name of loaded.weights.names()) {
  const t = loaded.weights.get(name);
  weightBytes += t.bytes;
  f32Bytes += t.numel * 4;
}
const random = rng(3);
const tensor = (shape: number[]) =>
  Tensor.fromArray(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random() - 0.5),
    shape,
  );
const side = 32; // 256 image tokens
const text = 16;
const inputs = {
  family: 'flux' as const,
  latents: tensor([1, (side / 2) ** 2, 64]),
  samples: { promptEmbeds: tensor([1, text, 1024]), pooledPromptEmbeds: tensor([1, 768]) },
  shared: { imgIds: imageIds(side, side), txtIds: textIds(text) },
};
const scheduler = { kind: 'flow-match-euler', config: { ...FLOW_MATCH_EULER_DEFAULTS } } as const;
globalThis.gc?.();
const baseKb = statusKb('VmRSS');
const stepGrowthKb: number[] = [];
for (let i = 0; i < Number(steps); i++) {
  writeFileSync('/proc/self/clear_refs', '5');
  const { latents } = await denoise(loaded, inputs, { steps: 1, guidanceScale: 3.5, scheduler });
  stepGrowthKb.push(statusKb('VmHWM') - baseKb);
  latents.release();
}
process.stdout.write(`RESULT ${JSON.stringify({ weightBytes, f32Bytes, stepGrowthKb })}\n`);
