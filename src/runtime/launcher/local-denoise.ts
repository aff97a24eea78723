/**
 * `tessera denoise` with parallel degrees: the request is handed to a local group (local-group.ts),
 * whose leader writes the output file, so the one-process and the parallel runs take the same flags and
 * write the same file. A person watches it: the ranks' JSON logs go to a folder, and a failed group is
 * one line naming the first rank's reason and the folder.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceRequest } from '../rank/device.js';
import type { ParallelFlags } from './degree-flags.js';
import type { LaunchResult } from './launch.js';
import { runLocalGroup } from './local-group.js';
import type { WorkerImagesArgs } from './worker-args.js';

/** Where a local group's logs go and stay; unset: a temporary folder, kept only when the group fails. */
export const LOG_DIR_ENV = 'TESSERA_LOG_DIR';

export interface LocalDenoiseRequest {
  model: string;
  inputs: string;
  output: string;
  steps: number;
  guidanceScale: number | null;
  device: DeviceRequest;
  /** Decode to images on the group too (`tessera generate`): the leader writes their RGB8 bytes here. */
  images?: WorkerImagesArgs;
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

async function startGroup(request: LocalDenoiseRequest, parallel: ParallelFlags): Promise<number> {
  const chosen = process.env[LOG_DIR_ENV];
  const logDir = chosen ?? mkdtempSync(join(tmpdir(), 'tessera-denoise-logs-'));
  if (chosen) mkdirSync(chosen, { recursive: true });
  const { code, failure } = await runGroup(request, parallel, logDir);
  if (code === 0) {
    if (!chosen) rmSync(logDir, { recursive: true, force: true });
    return 0;
  }
  process.stderr.write(
    `tessera denoise: the group failed${failure ? `: ${failure}` : ` with exit code ${code}`} (logs in ${logDir})\n`,
  );
  return code;
}

function runGroup(
  request: LocalDenoiseRequest,
  parallel: ParallelFlags,
  logDir: string,
): Promise<LaunchResult> {
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
    ...(request.images
      ? ['--images', request.images.path, '--image-size', `${request.images.width}x${request.images.height}`]
      : []),
  ];
  return runLocalGroup({
    degrees: parallel.degrees,
    pipeline: parallel.pipeline,
    modelPath: request.model,
    workerArgs,
    logDir,
    device: request.device,
  });
}
