/**
 * `npm run bench:pipeline`: prompt to PNG on the CPU, stage by stage — tokenize (CLIP + T5 tokenizers),
 * encode (the two text encoders), noise (the seeded initial latents), denoise (the one-process loop),
 * decode (the VAE and the 8-bit conversion) and PNG — on the tiny generated FLUX-like pipeline
 * (src/runtime/pipeline/tiny/), Tessera against Diffusers' FluxPipeline on the same folder, prompt,
 * size, steps, seed and thread count. The weights are seeded random values (timing only). Rounds
 * alternate the two sides (the machine is shared); prints the CPU, the kernels, the GEMM ceiling and the
 * load first, then per stage the median and best of each side and the ratio Diffusers / Tessera (> 1:
 * Tessera is faster).
 *
 * Options (env): BENCH_REPEATS (default 5), BENCH_STEPS (default 4), BENCH_SIZE (WxH, default 256x256),
 * TESSERA_NUM_THREADS (default: all cores), BENCH_PYTHON (a python with torch + diffusers; default: the one
 * tools/reference/venv.sh prints), BENCH_SKIP_TORCH=1.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { denoise } from '../src/runtime/denoise/index.js';
import { loadTransformer } from '../src/runtime/model-loader/index.js';
import { unpackLatents } from '../src/runtime/models/flux/packing.js';
import { ops, type Tensor } from '../src/runtime/native/index.js';
import { ImagePipeline, type ImageRequest } from '../src/runtime/pipeline/image-pipeline.js';
import * as text from '../src/runtime/pipeline/prompts/prompt-encoder.js';
import { writeTinyPipeline } from '../src/runtime/pipeline/tiny/tiny-pipeline.js';
import { readSchedulerConfig } from '../src/runtime/scheduler/scheduler.js';
import { logForPerson } from '../src/shared/log.js';
import { describeMachine, loadLine } from './support/machine.js';
import { startTorchSide, type TorchSide } from './support/torch-side.js';

logForPerson();

const STAGES = ['tokenize', 'encode', 'noise', 'denoise', 'decode', 'png'] as const;
type Stage = (typeof STAGES)[number];
type Round = Record<Stage, number>;

const threads = Number(process.env.TESSERA_NUM_THREADS ?? availableParallelism());
const repeats = Number(process.env.BENCH_REPEATS ?? 5);
const steps = Number(process.env.BENCH_STEPS ?? 4);
const [width, height] = (process.env.BENCH_SIZE ?? '256x256').split('x').map(Number) as [number, number];
const PROMPT = 'a lighthouse on a cliff at dawn, oil painting';
const SEED = 3;
const GUIDANCE = 3.5;
/** FluxPipeline's default T5 length. */
const T5_TOKENS = 512;
/** The tiny pipeline's VAE: 8× (three downsamplings). */
const VAE_SCALE = 8;

/** One Tessera round, stage by stage, as the FluxPipeline's stages (flux.ts encodes the same way). */
function tesseraRound(folder: string): () => Promise<Round> {
  const pipeline = ImagePipeline.open(folder);
  const stack = pipeline.text();
  const loaded = loadTransformer(folder);
  const scheduler = readSchedulerConfig(folder);
  const request: ImageRequest = pipeline.resolve({ prompt: PROMPT, height, width, steps, seed: SEED });
  const clipTokenizer = text.tokenizerOf(stack, 'tokenizer');
  return async () => {
    const times = {} as Round;
    let t = performance.now();
    const lap = (stage: Stage) => {
      const now = performance.now();
      times[stage] = (now - t) / 1000;
      t = now;
    };
    const clipIds = text.tokenizeBatch(clipTokenizer, [PROMPT], text.clipLength(clipTokenizer));
    const t5Ids = text.tokenizeBatch(text.tokenizerOf(stack, 'tokenizer_2'), [PROMPT], T5_TOKENS);
    lap('tokenize');
    const clip = text.clipOf(stack, 'text_encoder').encode(clipIds.ids, clipIds.batch, clipIds.seq);
    const embeds = text.t5Of(stack, 'text_encoder_2').encode(t5Ids.ids, t5Ids.batch, t5Ids.seq);
    lap('encode');
    const noise = pipeline.noise(request);
    const latents = pipeline.requestLatents(noise);
    lap('noise');
    // As the serving executor builds a FLUX request's inputs (position ids from the latent size).
    const tensors = new Map([
      ['latents', latents],
      ['prompt_embeds', embeds],
      ['pooled_prompt_embeds', clip.pooled],
    ]);
    const grid = { latentHeight: height / VAE_SCALE, latentWidth: width / VAE_SCALE };
    const inputs = loaded.arch.family.inputsFromRequest(tensors, grid);
    const result = await denoise(loaded, inputs, { steps, guidanceScale: GUIDANCE, scheduler });
    lap('denoise');
    const spatial = unpackLatents(result.latents, grid.latentHeight, grid.latentWidth);
    const [image] = await pipeline.decode(spatial);
    lap('decode');
    pipeline.png(image as NonNullable<typeof image>, request, 'tiny-pipeline');
    lap('png');
    for (const x of [
      clip.lastHiddenState,
      clip.pooled,
      embeds,
      noise,
      latents,
      result.latents,
      spatial,
    ] as Tensor[]) {
      x.release();
    }
    return times;
  };
}

/** Starts the Diffusers side (pipeline loaded, one round run) or says why it cannot. */
function startTorch(folder: string): Promise<TorchSide | string> {
  const job = {
    folder,
    prompt: PROMPT,
    height,
    width,
    steps,
    guidance_scale: GUIDANCE,
    seed: SEED,
    threads,
    max_sequence_length: T5_TOKENS,
  };
  // Its stderr carries Diffusers' progress bars and warnings, not lines for a person.
  return startTorchSide('bench/pipeline-torch.py', job, 'ignore');
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const ms = (s: number) => `${(s * 1000).toFixed(1)} ms`;
const say = (line: string) => process.stdout.write(`${line}\n`);

const work = mkdtempSync(join(tmpdir(), 'tessera-bench-pipeline-'));
try {
  ops.setNumThreads(threads);
  const folder = writeTinyPipeline(join(work, 'tiny-pipeline'));
  say(
    `prompt to PNG on CPU: the tiny generated FLUX-like pipeline, ${width}x${height}, ${steps} steps, ` +
      `${threads} thread(s), ${repeats} interleaved rounds`,
  );
  for (const line of describeMachine([threads]).lines) say(line);
  const round = tesseraRound(folder);
  await round(); // warm-up: first-touch allocation, lazily loaded VAE
  const torch = await startTorch(folder);
  const ours: Round[] = [];
  const theirs: Round[] = [];
  for (let i = 0; i < repeats; i++) {
    ours.push(await round());
    if (typeof torch !== 'string') theirs.push((await torch.ask('round')) as unknown as Round);
  }
  if (typeof torch !== 'string') torch.close();
  const total = (r: Round) => STAGES.reduce((sum, s) => sum + r[s], 0);
  const rows: Array<[string, number[], number[]]> = [
    ...STAGES.map((s): [string, number[], number[]] => [s, ours.map((r) => r[s]), theirs.map((r) => r[s])]),
    ['total', ours.map(total), theirs.map(total)],
  ];
  const side =
    typeof torch === 'string'
      ? torch
      : `torch ${torch.versions.torch}, diffusers ${torch.versions.diffusers}, ${torch.versions.threads} thread(s)`;
  say(
    `stage      tessera median (best)      diffusers median (best)     diffusers/tessera median  [${side}]`,
  );
  for (const [name, a, b] of rows) {
    const left = `${ms(median(a))} (${ms(Math.min(...a))})`;
    const right = b.length ? `${ms(median(b))} (${ms(Math.min(...b))})` : '-';
    const ratio = b.length ? (median(b) / median(a)).toFixed(2) : '-';
    say(`${name.padEnd(10)} ${left.padEnd(26)} ${right.padEnd(27)} ${ratio}`);
  }
  say(`${loadLine()} (after)`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
