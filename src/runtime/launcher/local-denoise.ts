/**
 * `tessera denoise` with parallel degrees: the request is handed to a local CPU group (local-group.ts),
 * whose leader writes the output file, so the one-process and the parallel runs take the same flags and
 * write the same file.
 */
import type { ParallelFlags } from './degree-flags.js';
import { runLocalGroup } from './local-group.js';

export interface LocalDenoiseRequest {
  model: string;
  inputs: string;
  output: string;
  steps: number;
  guidanceScale: number | null;
}

export function runParallelDenoise(request: LocalDenoiseRequest, parallel: ParallelFlags): Promise<number> {
  const workerArgs = [
    '--model',
    request.model,
    '--inputs',
    request.inputs,
    '--output',
    request.output,
    '--steps',
    String(request.steps),
    ...(request.guidanceScale !== null ? ['--guidance-scale', String(request.guidanceScale)] : []),
    ...(process.env.TESSERA_STATS_DIR ? ['--stats-dir', process.env.TESSERA_STATS_DIR] : []),
  ];
  return runLocalGroup({
    degrees: parallel.degrees,
    pipeline: parallel.pipeline,
    modelPath: request.model,
    workerArgs,
  });
}
