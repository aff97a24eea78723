/**
 * Loads one pipeline stage of a checkpoint in a fresh process and reports how far the resident set grew
 * while it did: `node --import tsx stage-memory-child.ts <folder> <from> <to> <f32|bf16>` prints
 * `RESULT {"baseKb", "peakKb", "heldBytes"}`. The peak is the kernel's VmHWM, reset (clear_refs 5) just
 * before the load, so it counts every byte resident at any moment of it: copies, converted tensors and
 * mapped pages of the checkpoint.
 */
import { writeFileSync } from 'node:fs';
import { loadTransformer } from '../../../src/runtime/model-loader/index.js';
import { Tensor } from '../../../src/runtime/native/index.js';
import { statusKb } from '../../support/memory-child.js';

const [folder, from, to, dtype] = process.argv.slice(2);
if (!folder || !from || !to || (dtype !== 'f32' && dtype !== 'bf16')) {
  throw new Error('usage: stage-memory-child.ts <folder> <from> <to> <f32|bf16>');
}
// Load the addon and settle the heap first, so that only the load itself is measured.
Tensor.zeros([1]).release();
globalThis.gc?.();
const baseKb = statusKb('VmRSS');
writeFileSync('/proc/self/clear_refs', '5');
const loaded = loadTransformer(folder, {
  blocks: { fromBlock: Number(from), toBlock: Number(to) },
  weightDtype: dtype,
});
const peakKb = statusKb('VmHWM');
let heldBytes = 0;
for (const name of loaded.weights.names()) {
  const t = loaded.weights.get(name);
  heldBytes += t.numel * (t.dtype === 'f32' ? 4 : 2);
}
process.stdout.write(`RESULT ${JSON.stringify({ baseKb, peakKb, heldBytes })}\n`);
