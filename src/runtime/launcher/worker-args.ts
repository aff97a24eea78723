/**
 * The arguments of `tessera worker` (the operator renders `spec.runtime.args` after the command). With a
 * request (`--inputs`), every rank runs that one denoise request and the leader writes the result;
 * without one, the group serves HTTP. The launcher passes the same arguments to every worker process.
 */
import { parseArgs } from 'node:util';
import { DEVICE_USAGE, DeviceFlagError, type DeviceRequest, parseDeviceFlag } from '../rank/device.js';

export const WORKER_USAGE = `usage: tessera worker [--inputs IN.safetensors --steps N [--guidance-scale G] -o OUT.safetensors]
                      [--model DIR] [--device cpu|cuda|cuda:N] [--stats-dir DIR]

The pod's entry point. Reads the env contract (TESSERA_POD_INDEX, TESSERA_PLAN_PATH, TESSERA_RENDEZVOUS_ADDR,
...) and the plan, starts one worker process per rank the plan gives this pod, and exits non-zero as soon
as any worker dies. Each worker joins the group through the TCP store on rank 0, checks the plan against
the checkpoint (TESSERA_MODEL_PATH or --model) and loads its share of the weights. A plan runs one GPU
per rank (NCCL); on a machine without the GPUs it asks for, the worker ends at once saying what is missing.
Without --inputs the group serves: rank 0 (pod 0) answers HTTP on TESSERA_SERVING_PORT (docs/serving.md)
and broadcasts each batch to every rank; the other pods' launchers answer /healthz and /readyz there.
  --inputs, --steps, --guidance-scale, -o   run this one denoise request (inputs as for tessera denoise)
  --images FILE --image-size WxH            with --inputs, the model folder being a whole pipeline: each
                                            data-parallel replica decodes its share of the latents with
                                            the VAE and the leader writes every image's RGB8 bytes to FILE
  --stats-dir DIR                           each rank writes rank-<r>.json (bytes loaded, step times)
${DEVICE_USAGE}`;

/** Where the leader writes the decoded images (RGB8, batch order), and their size in pixels. */
export interface WorkerImagesArgs {
  path: string;
  height: number;
  width: number;
}

export interface WorkerRequestArgs {
  inputs: string;
  output: string;
  steps: number;
  guidanceScale: number | null;
  /** Decode the result to images on the group too (`tessera generate`). */
  images?: WorkerImagesArgs;
}

export interface WorkerArgs {
  model: string | undefined;
  device: DeviceRequest;
  request: WorkerRequestArgs | undefined;
  statsDir: string | undefined;
}

export class WorkerArgsError extends Error {
  override readonly name = 'WorkerArgsError';
}

export function parseWorkerArgs(argv: readonly string[]): WorkerArgs | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        model: { type: 'string' },
        inputs: { type: 'string' },
        output: { type: 'string', short: 'o' },
        steps: { type: 'string' },
        'guidance-scale': { type: 'string' },
        'stats-dir': { type: 'string' },
        images: { type: 'string' },
        'image-size': { type: 'string' },
        device: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new WorkerArgsError((err as Error).message, { cause: err });
  }
  if (values.help) return 'help';
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  let request: WorkerRequestArgs | undefined;
  if (str('inputs') !== undefined) {
    const output = str('output');
    const stepsText = str('steps');
    if (!output) throw new WorkerArgsError('--output is required with --inputs');
    const steps = Number(stepsText);
    if (!Number.isInteger(steps) || steps < 1) {
      throw new WorkerArgsError(`--steps must be a positive integer, got ${stepsText ?? 'nothing'}`);
    }
    let guidanceScale: number | null = null;
    const g = str('guidance-scale');
    if (g !== undefined) {
      guidanceScale = Number(g);
      if (!Number.isFinite(guidanceScale) || guidanceScale < 0) {
        throw new WorkerArgsError(`--guidance-scale must be a number >= 0, got ${g}`);
      }
    }
    request = { inputs: str('inputs') as string, output, steps, guidanceScale };
    const images = imagesArgs(str('images'), str('image-size'));
    if (images) request.images = images;
  } else if (str('output') !== undefined || str('steps') !== undefined || str('images') !== undefined) {
    throw new WorkerArgsError('--output, --steps and --images need --inputs');
  }
  let device: DeviceRequest;
  try {
    device = parseDeviceFlag(str('device'));
  } catch (err) {
    if (err instanceof DeviceFlagError) throw new WorkerArgsError(err.message, { cause: err });
    throw err;
  }
  return { model: str('model'), device, request, statsDir: str('stats-dir') };
}

function imagesArgs(path: string | undefined, size: string | undefined): WorkerImagesArgs | undefined {
  if (path === undefined && size === undefined) return undefined;
  if (path === undefined || size === undefined) {
    throw new WorkerArgsError('--images and --image-size go together (the file, and WxH in pixels)');
  }
  const m = /^(\d+)x(\d+)$/.exec(size);
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) {
    throw new WorkerArgsError(`--image-size must be WIDTHxHEIGHT in pixels, e.g. 1024x1024, got ${size}`);
  }
  return { path, width: Number(m[1]), height: Number(m[2]) };
}
