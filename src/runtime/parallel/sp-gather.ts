/**
 * All-gather over the whole sequence-parallel group (Ulysses × Ring): first over the Ulysses axis, then
 * over the Ring axis, which yields the shards in SP-rank order s = u + U·r — the order the sequence was
 * cut in (sequence-shard.ts).
 */
import { Tensor } from '../native/index.js';
import type { CommProgram, SpLayout } from './comm-steps.js';

/** [sp, ...x.shape]: every SP rank's `x`, in SP-rank order. */
export function* gatherSequenceShards(x: Tensor, layout: SpLayout): CommProgram<Tensor> {
  const u = layout.ulysses.size;
  const r = layout.ring.size;
  const input = x.contiguous();
  const byUlysses = Tensor.empty([u, ...x.shape], input.dtype, input.device);
  try {
    yield { kind: 'allGather', axis: 'ulysses', input, output: byUlysses };
  } finally {
    if (input !== x) input.release();
  }
  if (r === 1) return byUlysses;
  const all = Tensor.empty([r, u, ...x.shape], byUlysses.dtype, byUlysses.device);
  try {
    yield { kind: 'allGather', axis: 'ring', input: byUlysses, output: all };
  } finally {
    byUlysses.release();
  }
  const flat = all.reshape([r * u, ...x.shape]);
  if (flat !== all) all.release();
  return flat;
}
