/**
 * `npm run bench:model`: the time of one Flux denoising step (transformer forward + Euler update) on the
 * CPU, Tessera against Diffusers on PyTorch CPU with the same config, inputs shapes and thread count.
 * Default config: 4 double + 8 single blocks, 8 heads × 64 (D = 512), 1,024 image + 128 text tokens,
 * T5 width 4096, CLIP pooled 768, guidance embedding on. Weights are random (timing only).
 * Rounds alternate Tessera (f32 weights), Tessera with the same weights held in bf16 (widened to f32
 * while the GEMM packs them) and PyTorch (the machine is shared); prints the CPU, the kernels chosen, the
 * measured GEMM ceiling and the load first, then median and best of each side and the ratio
 * PyTorch / Tessera (> 1: Tessera is faster).
 *
 * Options (env): BENCH_REPEATS (default 5), TESSERA_NUM_THREADS (default: all cores), BENCH_PYTHON (a python
 * with torch + diffusers; default: the one tools/reference/venv.sh prints), BENCH_SKIP_TORCH=1.
 */
import { availableParallelism } from 'node:os';
import { fluxManifest } from '../src/runtime/checkpoint/flux-manifest.js';
import { allTensors } from '../src/runtime/checkpoint/index.js';
import { architectureOf } from '../src/runtime/families/index.js';
import { WeightMap } from '../src/runtime/models/common/weights.js';
import { ops, type Tensor } from '../src/runtime/native/index.js';
import { logForPerson } from '../src/shared/log.js';
import {
  benchFluxConfig,
  benchFluxInputs,
  describeBenchFlux,
  fluxStep,
  latentSide,
  textTokens,
} from './support/flux-step.js';
import { describeMachine, loadLine } from './support/machine.js';
import { randomTensor } from './support/random.js';
import { startTorchSide, type TorchSide } from './support/torch-side.js';

// A person reads the tables: the JSON log goes to TESSERA_LOG_FILE, warnings to stderr.
logForPerson();
const threads = Number(process.env.TESSERA_NUM_THREADS ?? availableParallelism());
const repeats = Number(process.env.BENCH_REPEATS ?? 5);
const config = benchFluxConfig;

/** Random weights; `dtype` bf16 holds every matrix in bf16 (as a bf16 checkpoint loaded as it is). */
function randomWeights(dtype: 'f32' | 'bf16'): WeightMap {
  const tensors = new Map<string, Tensor>();
  allTensors(fluxManifest(config)).forEach((t, i) => {
    const fanIn = t.shape.length === 2 ? (t.shape[1] as number) : 1;
    const value = randomTensor(t.shape, t.shape.length === 2 ? 1 / Math.sqrt(fanIn) : 0.05, i + 1);
    tensors.set(t.name, dtype === 'bf16' && t.shape.length === 2 ? value.to('bf16') : value);
  });
  return new WeightMap(tensors, `bench (random ${dtype} weights)`);
}

/** One Tessera step (transformer forward + Euler update) as a function to time. */
function tesseraStep(dtype: 'f32' | 'bf16'): () => Promise<void> {
  const weights = randomWeights(dtype);
  const arch = architectureOf(config);
  const model = arch.build(weights, { fromBlock: 0, toBlock: arch.facts.blocks });
  const loaded = { family: 'flux', arch, config, model, weights } as const;
  const inputs = benchFluxInputs();
  return () => fluxStep(loaded, inputs);
}

async function seconds(run: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await run();
  return (performance.now() - started) / 1000;
}

/** Starts the PyTorch side (model built, warmed up) or says why it cannot. */
function startTorch(): Promise<TorchSide | string> {
  const job = {
    threads,
    latent_side: latentSide,
    text_tokens: textTokens,
    config: {
      patch_size: config.patchSize,
      in_channels: config.inChannels,
      num_layers: config.numLayers,
      num_single_layers: config.numSingleLayers,
      attention_head_dim: config.attentionHeadDim,
      num_attention_heads: config.numAttentionHeads,
      joint_attention_dim: config.jointAttentionDim,
      pooled_projection_dim: config.pooledProjectionDim,
      guidance_embeds: config.guidanceEmbeds,
      axes_dims_rope: config.axesDimsRope,
    },
  };
  return startTorchSide('bench/model-step-torch.py', job);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const ms = (s: number) => `${(s * 1000).toFixed(1)} ms`;

ops.setNumThreads(threads);
const describe = describeBenchFlux();
process.stdout.write(
  `one denoising step on CPU, ${describe}, ${threads} thread(s), ${repeats} interleaved rounds\n`,
);
for (const line of describeMachine([threads]).lines) process.stdout.write(`${line}\n`);
const step = tesseraStep('f32');
const stepBf16 = tesseraStep('bf16');
await step(); // warm-up: first-touch allocation
await stepBf16();
const torch = await startTorch();
// Rounds alternate the sides so that all see the same machine load (the dev machine is shared).
const ours: number[] = [];
const oursBf16: number[] = [];
const theirs: number[] = [];
for (let i = 0; i < repeats; i++) {
  ours.push(await seconds(step));
  if (typeof torch !== 'string') theirs.push((await torch.ask('step')).seconds as number);
  oursBf16.push(await seconds(stepBf16));
}
if (typeof torch !== 'string') torch.close();

process.stdout.write(`  tessera:            median ${ms(median(ours))}, best ${ms(Math.min(...ours))}\n`);
process.stdout.write(
  `  tessera bf16 w:     median ${ms(median(oursBf16))}, best ${ms(Math.min(...oursBf16))} ` +
    `(the same weights held in bf16: half the weight memory)\n`,
);
if (typeof torch === 'string') {
  process.stdout.write(`  diffusers/pytorch:  ${torch}\n`);
} else {
  const { versions } = torch;
  process.stdout.write(
    `  diffusers/pytorch:  median ${ms(median(theirs))}, best ${ms(Math.min(...theirs))} ` +
      `(torch ${versions.torch}, diffusers ${versions.diffusers}, ${versions.threads} thread(s))\n`,
  );
  process.stdout.write(
    `  ratio pytorch/tessera (> 1: Tessera is faster): median ${(median(theirs) / median(ours)).toFixed(2)}, ` +
      `best ${(Math.min(...theirs) / Math.min(...ours)).toFixed(2)}\n`,
  );
  process.stdout.write(
    `  ratio pytorch/tessera bf16 w: median ${(median(theirs) / median(oursBf16)).toFixed(2)}, ` +
      `best ${(Math.min(...theirs) / Math.min(...oursBf16)).toFixed(2)}\n`,
  );
}
process.stdout.write(`${loadLine()} (after)\n`);
