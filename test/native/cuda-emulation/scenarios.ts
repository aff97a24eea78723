/**
 * Scenarios run by cuda-emulation.test.ts in child processes whose 'cuda' device is the host emulation
 * (test/support/cuda-emulation.ts). Arguments as test/native/comm/worker.ts: scenario rank size port; the
 * outcome is printed as one `RESULT <json>` line.
 */
import { type Communicator, createCommunicator, TcpStore } from '../../../src/runtime/comm/index.js';
import { copiesSince } from '../../../src/runtime/denoise/denoise-loop.js';
import {
  attentionFallbackReason,
  checkGpuRuntime,
  ops,
  resetTransferCounts,
  Tensor,
  transferCounts,
} from '../../../src/runtime/native/index.js';
import { CommClock, runProgram } from '../../../src/runtime/parallel/comm-steps.js';
import { ringAttention } from '../../../src/runtime/parallel/ring.js';
import { scatterHeads } from '../../../src/runtime/parallel/ulysses.js';
import { readGroupSecret } from '../../../src/runtime/rendezvous/group-secret.js';
import { parseDpmSolverConfig } from '../../../src/runtime/scheduler/dpm-solver-config.js';
import { DpmSolverMultistep } from '../../../src/runtime/scheduler/dpm-solver-multistep.js';
import { dpmScheduler, stepLatents } from '../../../src/runtime/scheduler/scheduler.js';
import {
  DEVICE_CASES,
  denoiseOn,
  pixartDenoiseOn,
  relativeError,
  sharedGpuPipeFusionBf16,
} from '../../support/device-denoise.js';
import { readPipelineJson } from '../../support/pipeline-fixtures.js';
import { rng } from '../../support/rng.js';

const [scenario = '', rankArg = '0', sizeArg = '1', portArg = '0'] = process.argv.slice(2);
const rank = Number(rankArg);
const size = Number(sizeArg);
const port = Number(portArg);

function random(shape: number[], seed: number): Tensor {
  const next = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return Tensor.fromArray(
    Float32Array.from({ length: n }, () => 2 * next() - 1),
    shape,
  );
}

/** Largest |a − b| over two tensors on any device (each read back to the host). */
function maxDiff(a: Tensor, b: Tensor): number {
  const x = a.toFloat32Array();
  const y = b.toFloat32Array();
  if (x.length !== y.length) return Number.POSITIVE_INFINITY;
  return x.reduce((worst, v, i) => Math.max(worst, Math.abs(v - (y[i] as number))), 0);
}

const since = copiesSince;

/**
 * The ops of a step on the device, after one upload of its inputs: no copy until the result is read.
 * Each is compared with the same op on the CPU.
 */
function transfers(): Record<string, unknown> {
  resetTransferCounts();
  const cpu = {
    latents: random([1, 16, 8], 1),
    velocity: random([2, 16, 8], 2),
    x: random([2, 16, 32], 3),
    shift: random([2, 32], 4),
    scale: random([2, 32], 5),
    w: random([24, 32], 6),
    bias: random([24], 7),
    q: random([1, 6, 2, 16], 8),
    k: random([1, 10, 2, 16], 9),
    v: random([1, 10, 2, 16], 10),
    normWeight: random([16], 11),
    cos: random([9, 16], 12),
    sin: random([9, 16], 13),
  };
  const gpu = Object.fromEntries(
    Object.entries(cpu).map(([name, t]) => [name, t.toDevice('cuda')]),
  ) as typeof cpu;
  const upload = since({ hostToDevice: 0, hostToDeviceBytes: 0, deviceToHost: 0, deviceToHostBytes: 0 });
  const before = transferCounts();
  const run = (t: typeof cpu, device: 'cpu' | 'cuda') => {
    const [uncond, cond] = t.velocity.split(2, 0) as [Tensor, Tensor];
    const guided = ops.guidanceCombine(uncond, cond, 3.5);
    const stepped = ops.scaledAdd(t.latents, guided, -0.125);
    const modulated = ops.layerNormModulate(t.x, t.shift, t.scale);
    const hidden = ops.linearGelu(modulated, t.w, t.bias);
    const embedded = ops.timestepSinusoid([500, 250], { device });
    const joint = Tensor.zeros([1, 9, 2, 16], 'f32', device);
    ops.rmsNormRope(t.q, { weight: t.normWeight, cos: t.cos, sin: t.sin, out: joint, outOffset: 3 });
    const first = ops.attentionWithLse(t.q, t.k.narrow(1, 0, 4), t.v.narrow(1, 0, 4), {
      lse: Tensor.empty([1, 2, 6], 'f32', device),
    });
    const second = ops.attentionWithLse(t.q, t.k.narrow(1, 4, 6), t.v.narrow(1, 4, 6), {
      lse: Tensor.empty([1, 2, 6], 'f32', device),
    });
    ops.lseMerge(first.out, first.lse, second.out, second.lse);
    // A band of a batch-2 tensor: a strided destination on the device.
    const band = t.velocity.clone();
    band.narrow(1, 4, 8).copyFrom(t.velocity.narrow(1, 0, 8));
    return { stepped, hidden, embedded, joint, merged: first.out, band };
  };
  const onGpu = run(gpu, 'cuda');
  const duringStep = since(before);
  const devices = Object.fromEntries(Object.entries(onGpu).map(([name, t]) => [name, t.device]));
  const onCpu = run(cpu, 'cpu');
  const diffs = Object.fromEntries(
    Object.entries(onGpu).map(([name, t]) => [name, maxDiff(t, onCpu[name as keyof typeof onCpu])]),
  );
  const readBefore = transferCounts();
  onGpu.stepped.toFloat32Array();
  const read = since(readBefore);
  return { upload, duringStep, read, devices, diffs };
}

/** Which attention ran: cuDNN's entry for bf16, the own kernel for f32 (and why). */
function attentionPath(): Record<string, unknown> {
  const q = random([1, 4, 2, 16], 1).toDevice('cuda');
  const k = random([1, 6, 2, 16], 2).toDevice('cuda');
  const v = random([1, 6, 2, 16], 3).toDevice('cuda');
  ops.attention(q.to('bf16'), k.to('bf16'), v.to('bf16'));
  const bf16 = attentionFallbackReason();
  ops.attention(q, k, v);
  const f32 = attentionFallbackReason();
  return { bf16, f32 };
}

function gpuRuntime(): Record<string, unknown> {
  const two = checkGpuRuntime({ devices: 2 });
  const one = checkGpuRuntime({ devices: 1 });
  const noNccl = checkGpuRuntime({ devices: 1, nccl: false });
  const nativeAttention = checkGpuRuntime({ devices: 1, nccl: false, attention: 'native' });
  return {
    two: two.problem,
    one: one.problem ?? 'ok',
    noNccl: noNccl.problem ?? 'ok',
    nativeAttention: nativeAttention.problem ?? 'ok',
    found: one.found,
  };
}

/** This rank's store connection (rank 0 hosts it) and a communicator of the whole group over `backend`. */
async function joinGroup(
  backend: 'gloo' | 'nccl',
  timeoutMs = 20_000,
): Promise<{ store: TcpStore; comm: Communicator }> {
  const store = await TcpStore.create({
    host: '127.0.0.1',
    port,
    isServer: rank === 0,
    timeoutMs: 20_000,
    secret: readGroupSecret(),
  });
  const comm = await createCommunicator({
    backend,
    store,
    rank,
    size,
    prefix: `ring-${backend}`,
    timeoutMs,
    ...(backend === 'nccl' ? { cudaDevice: 0 } : {}),
  });
  return { store, comm };
}

/**
 * Ring attention over gloo with the blocks on the device: the communicator stages them through the host
 * (the one-GPU group of the GPU check), the merge runs on the device, and the result equals attention
 * over the whole sequence computed in one process.
 */
async function ring(): Promise<Record<string, unknown>> {
  const { store, comm } = await joinGroup('gloo');
  const [b, s, h, d] = [1, 5, 2, 8];
  const q = random([b, s * size, h, d], 1);
  const k = random([b, s * size, h, d], 2);
  const v = random([b, s * size, h, d], 3);
  const mine = (t: Tensor) =>
    t
      .narrow(1, rank * s, s)
      .contiguous()
      .toDevice('cuda');
  const qd = mine(q);
  const kd = mine(k);
  const vd = mine(v);
  const before = transferCounts();
  const out = await runProgram(ringAttention(qd, kd, vd, { size, rank }), { ring: comm, ulysses: comm });
  const staged = since(before);
  const expected = ops.attention(q.narrow(1, rank * s, s).contiguous(), k, v);
  const diff = maxDiff(out, expected);
  await comm.close();
  store.close();
  return { device: out.device, diff, staged };
}

const scenarios: Record<string, () => Record<string, unknown> | Promise<Record<string, unknown>>> = {
  transfers,
  attentionPath,
  gpuRuntime,
  ring,
  denoiseOnDevice,
  pipefusionBf16: () => sharedGpuPipeFusionBf16({}),
  dpmOnDevice,
  pixartOnDevice,
  ringNccl,
  layersNccl,
};

/**
 * Ring attention's hop over the NCCL communicator (the fake libnccl: it moves nothing, so the values are
 * not checked), with the blocks on the emulated device: the order of event records, stream waits and
 * attention launches lands in FAKE_NCCL_LOG for the test to read. With FAKE_CUDA_HANG_FILE present the
 * hop never completes: the communicator's 1 s timeout ends it, and the error is returned.
 */
async function ringNccl(): Promise<Record<string, unknown>> {
  const hangs = process.env.FAKE_CUDA_HANG_FILE !== undefined;
  const { store, comm } = await joinGroup('nccl', hangs ? 1_000 : 20_000);
  const [b, s, h, d] = [1, 5, 2, 8];
  const [q, k, v] = [1, 2, 3].map((seed) => random([b, s, h, d], seed + rank).toDevice('cuda')) as [
    Tensor,
    Tensor,
    Tensor,
  ];
  const before = transferCounts();
  let error = '';
  let device = '';
  try {
    const out = await runProgram(ringAttention(q, k, v, { size, rank }), { ring: comm, ulysses: comm });
    device = out.device;
  } catch (err) {
    error = (err as Error).message;
  }
  const staged = since(before);
  await comm.close();
  // The fake NCCL waits for no peer: the store's host stays up until every rank is through.
  await store.set(`ring-nccl/done/${rank}`, '1');
  if (rank === 0) await store.wait(Array.from({ length: size }, (_, r) => `ring-nccl/done/${r}`));
  store.close();
  return { backend: comm.backend, device, staged, error };
}

/**
 * Two attention layers' communication over NCCL as a forward runs them, on one clock: a Ulysses
 * all-to-all, then a Ring attention. Their completions stay on the clock until `settle` (once per request
 * in parallelDenoise), so the second layer is queued without the host waiting for the first's transfers.
 * With FAKE_CUDA_HANG_FILE present nothing ever completes: settle ends with the watchdog's reason.
 */
async function layersNccl(): Promise<Record<string, unknown>> {
  const hangs = process.env.FAKE_CUDA_HANG_FILE !== undefined;
  const { store, comm } = await joinGroup('nccl', hangs ? 1_000 : 20_000);
  const comms = { ring: comm, ulysses: comm };
  const clock = new CommClock();
  const [b, s, h, d] = [1, 4, 2, 8];
  const [x, q, k, v] = [1, 2, 3, 4].map((seed) => random([b, s, h, d], seed + rank).toDevice('cuda')) as [
    Tensor,
    Tensor,
    Tensor,
    Tensor,
  ];
  let error = '';
  try {
    (await runProgram(scatterHeads(x, size), comms, clock)).release();
    (await runProgram(ringAttention(q, k, v, { size, rank }), comms, clock)).release();
    await clock.settle();
  } catch (err) {
    error = (err as Error).message;
  }
  await comm.close();
  await store.set(`layers-nccl/done/${rank}`, '1');
  if (rank === 0) await store.wait(Array.from({ length: size }, (_, r) => `layers-nccl/done/${r}`));
  store.close();
  return { error };
}

/** PixArt-Σ's CFG DPM-Solver++ golden through the one denoise loop on 'cuda' and on the CPU. */
async function pixartOnDevice(): Promise<Record<string, unknown>> {
  const cpu = await pixartDenoiseOn('cpu');
  const cuda = await pixartDenoiseOn('cuda');
  return {
    copies: cuda.copies,
    resultDevice: cuda.latents.device,
    cudaVsCpu: relativeError(cuda.latents, cpu.latents),
    cudaVsGolden: relativeError(cuda.latents, cuda.golden),
  };
}

interface DpmCase {
  name: string;
  config: Record<string, unknown>;
  steps: number;
  sample: number[];
  model_outputs: number[][];
}

/**
 * DPM-Solver++ (PixArt-Σ's scheduler) as the loops step it (stepLatents), on latents on the device, over
 * every case of the Diffusers fixture, with the model outputs on the device in f32 and in bf16 (as a bf16
 * model gives them): the host↔device copies of the steps (the history stays on the device), and the cases
 * whose result differs in any bit from the host step on the CPU given the same outputs.
 */
function dpmOnDevice(): Record<string, unknown> {
  const { cases } = readPipelineJson<{ cases: DpmCase[] }>('dpm-solver.json');
  let steps = 0;
  let copies = 0;
  const differ: string[] = [];
  for (const c of cases) {
    for (const dtype of ['f32', 'bf16'] as const) {
      const config = parseDpmSolverConfig(c.config, c.name);
      const host = new DpmSolverMultistep(config, c.steps);
      const onDevice = dpmScheduler(config, c.steps);
      const shape = [1, 2, 2, c.sample.length / 4];
      const expected = Float32Array.from(c.sample);
      const latents = Tensor.of(c.sample, shape).toDevice('cuda');
      const outputs = c.model_outputs.map((values) => Tensor.of(values, shape).to(dtype));
      const uploaded = outputs.map((t) => t.toDevice('cuda'));
      uploaded.forEach((output, i) => {
        host.step(i, expected, (outputs[i] as Tensor).toFloat32Array());
        const before = transferCounts();
        stepLatents(onDevice, i, latents, output);
        const made = since(before);
        copies += made.hostToDevice + made.deviceToHost;
        steps++;
      });
      const actual = latents.toFloat32Array();
      const same = new Uint32Array(actual.buffer).every((b, i) => b === new Uint32Array(expected.buffer)[i]);
      if (!same) differ.push(`${c.name} (${dtype} outputs)`);
    }
  }
  return { steps, copies, differ };
}

/**
 * The one denoise loop on 'cuda' and on the CPU for Flux's and SD3's denoise goldens: the host↔device
 * copies of each step on 'cuda', the relative error between the two results and of each to the golden.
 */
async function denoiseOnDevice(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const which of DEVICE_CASES) {
    const cpu = await denoiseOn(which, 'cpu');
    const cuda = await denoiseOn(which, 'cuda');
    out[which.checkpoint] = {
      copies: cuda.copies,
      resultDevice: cuda.latents.device,
      cudaVsCpu: relativeError(cuda.latents, cpu.latents),
      cpuVsGolden: relativeError(cpu.latents, cpu.golden),
      cudaVsGolden: relativeError(cuda.latents, cuda.golden),
    };
  }
  return out;
}

async function main(): Promise<void> {
  const run = scenarios[scenario];
  if (!run) throw new Error(`unknown scenario '${scenario}'`);
  const result = await run();
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
