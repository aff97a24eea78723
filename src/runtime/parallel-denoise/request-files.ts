/**
 * A denoise request read from files, as `tessera denoise` reads them: the inputs safetensors, turned into
 * denoiser inputs by the reader `tessera denoise` uses too, so both paths accept the same files.
 */
import { denoiseInputs } from '../denoise/input-files.js';
import type { WorkerRequestArgs } from '../launcher/worker-args.js';
import type { DenoiseRequest } from './rank-job.js';

export function loadedRequest(args: WorkerRequestArgs): DenoiseRequest {
  return {
    inputsPath: args.inputs,
    outputPath: args.output,
    steps: args.steps,
    guidanceScale: args.guidanceScale,
    readInputs: denoiseInputs,
    ...(args.images ? { images: args.images } : {}),
  };
}
