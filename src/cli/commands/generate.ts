/**
 * `tessera generate --model DIR --prompt "…" -o out.png`: the whole Diffusers pipeline from a prompt to
 * a PNG. This process encodes the prompt (the group leader's job) and draws the seeded noise; the
 * denoising loop is `tessera denoise`'s (one process, or a local parallel group with the same degree
 * flags); one process then decodes the latents here, a group on each data-parallel replica's VAE ranks
 * (pipeline/group-images.ts), and this process writes the PNGs with the request in their text chunks.
 * Lines for a person on stdout; the runtime's JSON log goes to TESSERA_LOG_FILE when set (cli/main.ts).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  DEGREE_OPTIONS,
  DEGREE_USAGE,
  DegreeFlagError,
  parallelFromFlags,
} from '../../runtime/launcher/degree-flags.js';
import { NamedTensors } from '../../runtime/model-loader/index.js';
import { writeSafetensors } from '../../runtime/native/safetensors-writer.js';
import type { RgbImage } from '../../runtime/pipeline/image/pixels.js';
import { type ImageAsk, ImagePipeline, ImageRequestError } from '../../runtime/pipeline/image-pipeline.js';
import { DEVICE_USAGE, DeviceFlagError, parseDeviceFlag } from '../../runtime/rank/device.js';
import { type Command, UsageError } from '../command.js';
import { denoiseToFile } from './denoise.js';
import { reportFailure } from './run-transformer.js';

export const GENERATE_USAGE = `usage: tessera generate --model DIR --prompt "…" [options] -o OUT.png

Makes an image from a prompt with a Diffusers pipeline folder (FLUX.1, SD3/SD3.5, PixArt-Σ): tokenizers,
text encoders, seeded noise, the denoising loop, the VAE, a PNG with the prompt, seed, steps, guidance and
model in its text chunks. The same seed gives the noise Diffusers draws with torch.Generator("cpu").
Options:
  --negative-prompt TEXT   for classifier-free guidance (SD3, PixArt-Σ; default "")
  --size WxH               image size in pixels (default 1024x1024; multiples of 16)
  --steps N                denoising steps (default: the pipeline's, e.g. FLUX.1-dev 28)
  --guidance-scale G       (default: the pipeline's, e.g. FLUX.1-dev 3.5, SD3 7, PixArt-Σ 4.5)
  --seed S                 integer ≥ 0 (default: random, printed)
  --n N                    images from the seed's noise (default 1); OUT-0.png … OUT-<N-1>.png when N > 1.
                           With --data-parallel, each replica denoises and decodes its share of them
${DEVICE_USAGE}
${DEGREE_USAGE}`;

const OPTIONS = {
  model: { type: 'string' },
  prompt: { type: 'string' },
  'negative-prompt': { type: 'string' },
  size: { type: 'string' },
  steps: { type: 'string' },
  'guidance-scale': { type: 'string' },
  seed: { type: 'string' },
  n: { type: 'string' },
  output: { type: 'string', short: 'o' },
  device: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  ...DEGREE_OPTIONS,
} as const;

type Values = {
  [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string;
};

function numberFlag(values: Values, name: 'steps' | 'guidance-scale' | 'seed' | 'n'): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value))
    throw new UsageError(`--${name} must be a number, got ${JSON.stringify(raw)}`);
  return value;
}

/** "1024x768" → { width: 1024, height: 768 }. */
export function parseSize(raw: string, field = '--size'): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/.exec(raw);
  if (!m)
    throw new UsageError(
      `${field} must be WIDTHxHEIGHT in pixels, e.g. 1024x1024, got ${JSON.stringify(raw)}`,
    );
  return { width: Number(m[1]), height: Number(m[2]) };
}

export interface GenerateOptions {
  model: string;
  output: string;
  ask: ImageAsk;
  values: Values;
}

export function parseGenerateArgs(argv: readonly string[]): GenerateOptions | 'help' {
  let values: Values;
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${GENERATE_USAGE}`, { cause: err });
  }
  if (values.help) return 'help';
  for (const flag of ['model', 'prompt', 'output'] as const) {
    if (values[flag] === undefined) throw new UsageError(`--${flag} is required\n\n${GENERATE_USAGE}`);
  }
  const size = values.size ? parseSize(values.size) : undefined;
  const ask: ImageAsk = {
    prompt: values.prompt as string,
    ...(values['negative-prompt'] !== undefined ? { negativePrompt: values['negative-prompt'] } : {}),
    ...(size ? { height: size.height, width: size.width } : {}),
  };
  const steps = numberFlag(values, 'steps');
  const guidance = numberFlag(values, 'guidance-scale');
  const seed = numberFlag(values, 'seed');
  const n = numberFlag(values, 'n');
  if (n !== undefined) ask.n = n;
  if (steps !== undefined) ask.steps = steps;
  if (guidance !== undefined) ask.guidanceScale = guidance;
  if (seed !== undefined) ask.seed = seed;
  return { model: values.model as string, output: values.output as string, ask, values };
}

const say = (line: string) => process.stdout.write(`${line}\n`);

async function generate(options: GenerateOptions): Promise<number> {
  const started = performance.now();
  const pipeline = ImagePipeline.open(options.model);
  let request: ReturnType<ImagePipeline['resolve']>;
  try {
    request = pipeline.resolve(options.ask);
  } catch (err) {
    if (err instanceof ImageRequestError)
      throw new UsageError(`${err.field}: ${err.message}`, { cause: err });
    throw err;
  }
  let parallel: ReturnType<typeof parallelFromFlags>;
  let device: ReturnType<typeof parseDeviceFlag>;
  try {
    parallel = parallelFromFlags(options.values);
    device = parseDeviceFlag(options.values.device);
  } catch (err) {
    if (err instanceof DegreeFlagError || err instanceof DeviceFlagError)
      throw new UsageError(err.message, { cause: err });
    throw err;
  }
  const work = mkdtempSync(join(tmpdir(), 'tessera-generate-'));
  try {
    const tensors = pipeline.encode(request);
    const noise = pipeline.noise(request);
    const inputs = join(work, 'inputs.safetensors');
    const denoised = join(work, 'latents.safetensors');
    writeSafetensors(inputs, new Map([['latents', noise], ...Object.entries(tensors)]));
    const encodedMs = performance.now() - started;
    // A group decodes on its replicas' VAE ranks and its leader writes the pixels; one process decodes here.
    const images = parallel
      ? { path: join(work, 'images.rgb'), height: request.height, width: request.width }
      : undefined;
    const code = await denoiseToFile({
      model: options.model,
      inputs,
      output: denoised,
      steps: request.steps,
      guidanceScale: request.guidanceScale,
      device,
      parallel,
      ...(images ? { images } : {}),
    });
    if (code !== 0) return code;
    const decoded = images
      ? splitImages(readFileSync(images.path), request.n, request.width, request.height)
      : await pipeline.decode(NamedTensors.read(denoised).required('latents', 'the denoised latents'));
    if (decoded.length !== request.n)
      throw new Error(`decoded ${decoded.length} images, asked for ${request.n}`);
    const outputs = outputPaths(options.output, request.n);
    for (const [i, image] of decoded.entries()) {
      writeFileSync(outputs[i] as string, pipeline.png(image, request, basename(resolve(options.model))));
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    say(
      `wrote ${outputs.join(', ')}: ${request.width}x${request.height}, seed ${request.seed}, ${request.steps} steps, ` +
        `guidance ${request.guidanceScale} (${seconds} s; prompt encoded in ${(encodedMs / 1000).toFixed(1)} s)`,
    );
    return 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** `out.png` for one image; `out-0.png`, `out-1.png`, … for several. */
export function outputPaths(output: string, n: number): string[] {
  if (n === 1) return [output];
  const ext = extname(output);
  const stem = output.slice(0, output.length - ext.length);
  return Array.from({ length: n }, (_, i) => `${stem}-${i}${ext}`);
}

/** The group leader's file: n images' RGB8 bytes, one after the other. */
function splitImages(bytes: Uint8Array, n: number, width: number, height: number): RgbImage[] {
  const size = width * height * 3;
  if (bytes.length !== n * size) {
    throw new Error(
      `the group wrote ${bytes.length} image bytes; ${n} images of ${width}x${height} need ${n * size}`,
    );
  }
  return Array.from({ length: n }, (_, i) => ({
    width,
    height,
    data: bytes.subarray(i * size, (i + 1) * size),
  }));
}

export const generateCommand: Command = {
  name: 'generate',
  summary:
    'make a PNG from a prompt: tokenizers, text encoders, seeded noise, denoising, VAE (one process or a local group)',
  async run(argv) {
    const options = parseGenerateArgs(argv);
    if (options === 'help') {
      process.stdout.write(GENERATE_USAGE);
      return 0;
    }
    try {
      return await generate(options);
    } catch (err) {
      if (err instanceof UsageError) throw err;
      return reportFailure('generate', err);
    }
  },
};
