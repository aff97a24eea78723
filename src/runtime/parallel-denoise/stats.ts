/** What a rank measured about itself: the weights it holds and its step times (tests and benchmarks read it). */

import type { MeshCoords } from '../../shared/plan/index.js';
import { blockGroups } from '../checkpoint/index.js';
import type { LoadedTransformer } from '../model-loader/index.js';
import type { TransferCounts } from '../native/index.js';

export interface RankStats {
  rank: number;
  coords: MeshCoords;
  /** Bytes of every tensor this rank loaded, as held in memory (f32, or bf16/f16 matrices). */
  loadedBytes: number;
  /** Of those, the bytes of transformer blocks (what PipeFusion stages split). */
  blockBytes: number;
  stepMs: number[];
  /** Each step's host↔device copies on this rank (none on the CPU; on a GPU what gloo staged, if used). */
  stepCopies: TransferCounts[];
  totalMs: number;
  /** Time spent waiting on communication during the denoise loop. */
  commMs: number;
}

export function weightBytes(loaded: LoadedTransformer): { loadedBytes: number; blockBytes: number } {
  const blockTensors = new Set(
    blockGroups(loaded.arch.manifest).flatMap((g) => g.tensors.map((t) => t.name)),
  );
  let loadedBytes = 0;
  let blockBytes = 0;
  for (const name of loaded.weights.names()) {
    const t = loaded.weights.get(name);
    const bytes = t.bytes;
    loadedBytes += bytes;
    if (blockTensors.has(name)) blockBytes += bytes;
  }
  return { loadedBytes, blockBytes };
}

export function rankStats(rank: number, coords: MeshCoords, loaded: LoadedTransformer): RankStats {
  return { rank, coords, ...weightBytes(loaded), stepMs: [], stepCopies: [], totalMs: 0, commMs: 0 };
}
