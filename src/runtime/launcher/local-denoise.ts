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

/** Runs the group; a failure before it starts (plan, checkpoint, env) is one line on stderr and exit 1. */
export async function runParallelDenoise(
  request: LocalDenoiseRequest,
  parallel: ParallelFlags,
): Promise<number> {
  try {
    return await startGroup(request, parallel);
  } catch (err) {
    if (!(err instanceof Error) || err instanceof TypeError || err instanceof ReferenceError) throw err;
    const causes: string[] = [];
    for (let c = err.cause; c instanceof Error; c = c.cause) causes.push(`  caused by: ${c.message}\n`);
    process.stderr.write(`tessera denoise: ${err.message}\n${causes.join('')}`);
    return 1;
  }
}

function startGroup(request: LocalDenoiseRequest, parallel: ParallelFlags): Promise<number> {
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
