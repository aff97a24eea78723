/**
 * `tessera denoise --model DIR --inputs in.safetensors --steps N [--guidance-scale G] -o out.safetensors`:
 * the one-process denoising loop (the reference the parallel runs must match). Inputs: `latents`,
 * `prompt_embeds`, `pooled_prompt_embeds`, and for SD3 CFG `negative_prompt_embeds`,
 * `negative_pooled_prompt_embeds`. Flux latents are packed [B, N_img, 4C] with `img_ids` (and optionally
 * `txt_ids`), or unpacked [B, C, h, w], which is packed here and unpacked again on output.
 * Parallel flags (--ulysses, --ring, --pipefusion, --cfg-parallel, --data-parallel) belong in
 * `DENOISE_OPTIONS` and `DenoiseCommandOptions`, dispatching to the parallel denoiser.
 */
import { parseArgs } from 'node:util';
import { denoise } from '../../runtime/denoise/index.js';
import { denoiseInputs } from '../../runtime/denoise/input-files.js';
import {
  DEGREE_OPTIONS,
  DEGREE_USAGE,
  DegreeFlagError,
  type ParallelFlags,
  parallelFromFlags,
} from '../../runtime/launcher/degree-flags.js';
import { runParallelDenoise } from '../../runtime/launcher/local-denoise.js';
import type { WorkerImagesArgs } from '../../runtime/launcher/worker-args.js';
import { loadTransformer, NamedTensors } from '../../runtime/model-loader/index.js';
import { writeSafetensors } from '../../runtime/native/safetensors-writer.js';
import { MAX_GUIDANCE_SCALE, ONE_PROCESS, preflightDenoise } from '../../runtime/preflight/index.js';
import {
  DEVICE_USAGE,
  DeviceFlagError,
  type DeviceRequest,
  parseDeviceFlag,
} from '../../runtime/rank/device.js';
import { readSchedulerConfig } from '../../runtime/scheduler/scheduler.js';
import { log } from '../../shared/log.js';
import { type Command, UsageError } from '../command.js';
import { reportFailure } from './run-transformer.js';

const logger = log.child({ component: 'denoise' });

export const DENOISE_USAGE =
  `usage: tessera denoise --model DIR --inputs IN.safetensors --steps N [--guidance-scale G] -o OUT.safetensors

Runs N flow-match Euler steps of the checkpoint's transformer in one process (f32) and writes "latents".
Inputs: latents, prompt_embeds, pooled_prompt_embeds
  Flux: latents packed [B,N_img,4C] with img_ids [N_img,3] (txt_ids optional, zeros by default),
        or unpacked [B,C,h,w] (ids derived, output unpacked too)
  SD3:  latents [B,C,H,W]; with --guidance-scale > 1 also negative_prompt_embeds, negative_pooled_prompt_embeds
Options:
  --guidance-scale G   Flux-dev: embedded guidance (default 3.5); SD3: CFG scale (default 7.0); schnell: ignored
  --steps N            denoising steps (required)
Before anything runs, the inputs' shapes, the guidance and the degrees are checked against the checkpoint.
A parallel run writes its ranks' logs to TESSERA_LOG_DIR (default: a temporary folder, kept and named if
the group fails).
${DEVICE_USAGE}` +
  '\n' +
  DEGREE_USAGE;

/** Flag table, kept separate so issue #8 can add the parallel degrees beside the one-process ones. */
const DENOISE_OPTIONS = {
  model: { type: 'string' },
  inputs: { type: 'string' },
  output: { type: 'string', short: 'o' },
  steps: { type: 'string' },
  'guidance-scale': { type: 'string' },
  device: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  // Issue #8: the parallel degrees (src/runtime/launcher/degree-flags.ts).
  ...DEGREE_OPTIONS,
} as const;

export interface DenoiseCommandOptions {
  model: string;
  inputs: string;
  output: string;
  steps: number;
  /** null: the pipeline's default for the family. */
  guidanceScale: number | null;
  /** Where the ranks compute (default: CPU). */
  device: DeviceRequest;
  /** Issue #8: degrees > 1 run a local CPU group through the launcher; null runs this process. */
  parallel: ParallelFlags | null;
  /** With `parallel`: the group decodes the result to images too, written here (`tessera generate`). */
  images?: WorkerImagesArgs;
}

export function parseDenoiseArgs(argv: readonly string[]): DenoiseCommandOptions | 'help' {
  let values: {
    [K in keyof typeof DENOISE_OPTIONS]?: (typeof DENOISE_OPTIONS)[K]['type'] extends 'boolean'
      ? boolean
      : string;
  };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: DENOISE_OPTIONS,
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${DENOISE_USAGE}`, { cause: err });
  }
  if (values.help) return 'help';
  for (const flag of ['model', 'inputs', 'output', 'steps'] as const) {
    if (!values[flag]) throw new UsageError(`--${flag} is required\n\n${DENOISE_USAGE}`);
  }
  const steps = Number(values.steps);
  if (!Number.isInteger(steps) || steps < 1)
    throw new UsageError(`--steps must be a positive integer, got ${values.steps}`);
  let guidanceScale: number | null = null;
  if (values['guidance-scale'] !== undefined) {
    guidanceScale = Number(values['guidance-scale']);
    if (!Number.isFinite(guidanceScale) || guidanceScale < 0 || guidanceScale > MAX_GUIDANCE_SCALE) {
      throw new UsageError(
        `--guidance-scale must be a number from 0 to ${MAX_GUIDANCE_SCALE}, got ${values['guidance-scale']}`,
      );
    }
  }
  return {
    model: values.model as string,
    inputs: values.inputs as string,
    output: values.output as string,
    steps,
    guidanceScale,
    device: deviceRequest(values.device),
    parallel: parallelFlags(values),
  };
}

function deviceRequest(value: string | undefined): DeviceRequest {
  try {
    return parseDeviceFlag(value);
  } catch (err) {
    if (err instanceof DeviceFlagError) throw new UsageError(err.message, { cause: err });
    throw err;
  }
}

/** Issue #8: the degree flags, with a bad value reported as a usage error. */
function parallelFlags(values: Record<string, string | boolean | undefined>): ParallelFlags | null {
  try {
    return parallelFromFlags(values);
  } catch (err) {
    if (err instanceof DegreeFlagError) throw new UsageError(err.message, { cause: err });
    throw err;
  }
}

/**
 * The denoise request of `options` run to its output file: the pre-flight, then one process or the local
 * group. Errors are one line on stderr and a non-zero exit code (the generate command runs it too).
 */
export async function denoiseToFile(options: DenoiseCommandOptions): Promise<number> {
  try {
    // Shapes, degrees and guidance against the inputs and the checkpoint, before a worker starts.
    preflightDenoise(options, options.parallel ?? ONE_PROCESS);
  } catch (err) {
    return reportFailure('denoise', err);
  }
  if (options.parallel) return runParallelDenoise(options, options.parallel);
  if (options.device.kind === 'cuda' || options.device.kind === 'cuda-shared') {
    throw new UsageError(
      'the one-process denoiser runs on CPU; --device cuda applies to a parallel group (--ulysses, --ring, …)',
    );
  }
  try {
    const loaded = loadTransformer(options.model);
    const scheduler = readSchedulerConfig(options.model);
    const { inputs, finish } = denoiseInputs(loaded, NamedTensors.read(options.inputs));
    const guidanceScale = options.guidanceScale ?? loaded.arch.family.defaultGuidanceScale;
    const result = await denoise(loaded, inputs, {
      steps: options.steps,
      guidanceScale,
      scheduler,
      onStep: (s) => logger.info({ step: s.index, timestep: s.timestep, ms: Math.round(s.ms) }, 'step'),
    });
    writeSafetensors(options.output, new Map([['latents', finish(result.latents)]]));
    return 0;
  } catch (err) {
    return reportFailure('denoise', err);
  }
}

export const denoiseCommand: Command = {
  name: 'denoise',
  summary: 'run the denoising loop: one process, or a local parallel group (--ulysses, --ring, …)',
  async run(argv) {
    const options = parseDenoiseArgs(argv);
    if (options === 'help') {
      process.stdout.write(DENOISE_USAGE);
      return 0;
    }
    return denoiseToFile(options);
  },
};
