/**
 * The addon's 'cuda' side on a machine without a GPU: child processes load a host emulation of
 * libtessera_cuda (test/native/cuda-emulation/host_backend.cc) with a fake libcuda.so.1, so the device
 * storage, the dispatch of every step op, strided device copies, the host↔device copy counter, the choice
 * of the attention path, the GPU start-up check and gloo's staging of device tensors all run for real.
 * Whether the CUDA kernels compute the right numbers is test/gpu's job, on a GPU.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TransferCounts } from '../../src/runtime/native/index.js';
import { cudaEmulation } from '../support/cuda-emulation.js';
import { pixartPipeFusionOn, relativeError, sd3GroupOn, sharedGpuGroup } from '../support/device-denoise.js';
import { killAll, runRanks } from './comm/harness.js';

const SCENARIOS = `${import.meta.dirname}/cuda-emulation/scenarios.ts`;
const emulation = cudaEmulation();

afterEach(killAll);

/** The copy counts of a step that copied `up` bytes host→device and `down` bytes device→host, one copy each. */
function copies(up: number[], down: number[]): TransferCounts {
  const sum = (bytes: number[]) => bytes.reduce((a, b) => a + b, 0);
  return {
    hostToDevice: up.length,
    hostToDeviceBytes: sum(up),
    deviceToHost: down.length,
    deviceToHostBytes: sum(down),
  };
}

async function run(
  scenario: string,
  env: Record<string, string>,
  size = 1,
): Promise<Record<string, unknown>[]> {
  const outcomes = await runRanks({ scenario, worker: SCENARIOS, size, deadlineMs: 60_000, env });
  return outcomes.map((o) => {
    expect(o.code, `rank ${o.rank} of ${scenario}: ${o.stderr}`).toBe(0);
    return o.result as Record<string, unknown>;
  });
}

describe('CUDA side of the addon on the host emulation', () => {
  it('a step on the device makes no host↔device copy; uploads and reads are counted', async () => {
    const [r] = await run('transfers', emulation.env());
    expect(r?.upload).toMatchObject({ hostToDevice: 13, deviceToHost: 0 });
    expect(r?.duringStep).toEqual({
      hostToDevice: 0,
      hostToDeviceBytes: 0,
      deviceToHost: 0,
      deviceToHostBytes: 0,
    });
    expect(r?.read).toEqual({
      hostToDevice: 0,
      hostToDeviceBytes: 0,
      deviceToHost: 1,
      deviceToHostBytes: 16 * 8 * 4,
    });
    for (const device of Object.values(r?.devices as Record<string, string>)) expect(device).toBe('cuda');
    // The device path computes what the CPU computes (the emulation uses the same float32 formulas; only
    // the GEMM's summation order differs from OpenBLAS's).
    for (const [name, diff] of Object.entries(r?.diffs as Record<string, number>)) {
      expect(diff, name).toBeLessThan(1e-5);
    }
  });

  it('the one denoise loop runs on the device: no host↔device copy in a step but the rope tables of the first, the CPU result', async () => {
    const [r] = await run('denoiseOnDevice', emulation.env());
    const none = { hostToDevice: 0, hostToDeviceBytes: 0, deviceToHost: 0, deviceToHostBytes: 0 };
    // Flux (guidance embedded): its rotary tables, built on the host from the position ids, go up once
    // per request — cos and sin, (7 text + 24 image tokens) × head dim 8 in f32.
    const flux = r?.['flux-dev'] as Record<string, unknown>;
    expect(flux.copies).toEqual([
      { ...none, hostToDevice: 2, hostToDeviceBytes: 2 * (7 + 24) * 8 * 4 },
      none,
      none,
      none,
    ]);
    // SD3 with CFG: both branches batched on the device, combined there.
    const sd3 = r?.['sd3-medium'] as Record<string, unknown>;
    expect(sd3.copies).toEqual([none, none, none, none]);
    for (const [name, c] of [
      ['flux-dev', flux],
      ['sd3-medium', sd3],
    ] as const) {
      // Only the GEMMs' summation order differs from the CPU (the emulation's f32 formulas are the CPU's).
      expect(c.cudaVsCpu as number, name).toBeLessThan(1e-4);
      expect(c.cudaVsGolden as number, name).toBeLessThan(1e-3);
      expect(c.cpuVsGolden as number, name).toBeLessThan(1e-3);
      expect(c.resultDevice, 'the loop hands back host latents').toBe('cpu');
    }
  });

  it('tessera denoise: a 2-rank Ulysses group sharing the GPU (--device cuda:0, gloo staging device tensors) gives the golden', async () => {
    const outcome = await sharedGpuGroup(emulation.env());
    if ('failed' in outcome) throw new Error(outcome.failed);
    // Measured 8.8e-7 (the GEMMs' summation order); the one-process CPU golden bound is 1e-3.
    expect(outcome.error).toBeLessThan(1e-4);
  }, 240_000);

  it('CFG parallel sharing the GPU (gloo): the branches are gathered where they are, a step copies only what gloo stages, the golden', async () => {
    const r = await sd3GroupOn(['--cfg-parallel'], 'cuda:0', emulation.env());
    if ('failed' in r) throw new Error(r.failed);
    expect(r.error).toBeLessThan(1e-4);
    // Each step each rank sends its branch's output down to gloo ([1, 16, 16, 16] f32: 16,384 B) and gets
    // both back up (32,768 B): nothing else.
    for (const rank of r.copies) expect(rank).toEqual(Array(4).fill(copies([32_768], [16_384])));
  }, 120_000);

  it('a 2-rank Ulysses group and a CFG-parallel pair over NCCL (one emulated GPU per rank): no host↔device copy in any step', async () => {
    // The fake libnccl moves nothing, so the values are not checked, only what the ranks copy. Before,
    // CFG parallel over NCCL failed at its first gather: the output buffer was host memory.
    const env = { ...emulation.env({ nccl: true }), TESSERA_EMULATION_DEVICES: '2' };
    for (const flags of [['--ulysses', '2'], ['--cfg-parallel']]) {
      const r = await sd3GroupOn(flags, 'cuda', env);
      if ('failed' in r) throw new Error(`${flags.join(' ')}: ${r.failed}`);
      for (const rank of r.copies) expect(rank, flags.join(' ')).toEqual(Array(4).fill(copies([], [])));
    }
  }, 120_000);

  it('PipeFusion with bf16 weights: the stage message keeps the state in bf16 (rotary tables f32), so 2 stages sharing the GPU give the one-process bf16 result', async () => {
    const [outcome] = await run('pipefusionBf16', emulation.env());
    if (outcome && 'failed' in outcome) throw new Error(String(outcome.failed));
    // Measured 0 (the same bf16 computations). With the state sent in f32 (as before) the second stage
    // computed in f32, converting its bf16 weights in every GEMM: measured 2.5e-3 from the one process.
    expect(outcome?.error as number).toBeLessThan(1e-6);
  }, 120_000);

  it("DPM-Solver++ steps on the device: its history stays there, no host↔device copy in a step, the host step's bits", async () => {
    const [r] = await run('dpmOnDevice', emulation.env());
    expect(r?.steps as number).toBeGreaterThan(100);
    expect(r?.copies).toBe(0);
    // The emulation's element-wise ops are the CPU's float32 formulas, so the op sequence gives the host
    // step's bits; on a GPU the same sequence runs as CUDA kernels.
    expect(r?.differ).toEqual([]);
  });

  it('PixArt-Σ (CFG, DPM-Solver++) through the one denoise loop on the device: no copy in a step after the first, the CPU result', async () => {
    const [r] = await run('pixartOnDevice', emulation.env());
    const none = { hostToDevice: 0, hostToDeviceBytes: 0, deviceToHost: 0, deviceToHostBytes: 0 };
    // Once per request: the sin-cos position table of the grid goes up (4 × 4 patches × width 32 in f32)
    // and the batched caption masks ([uncond; cond] = [2, 12] in f32) are read for the kept tokens.
    const [first, ...rest] = (r?.copies ?? []) as Record<string, number>[];
    expect(first).toEqual({
      hostToDevice: 1,
      hostToDeviceBytes: 16 * 32 * 4,
      deviceToHost: 1,
      deviceToHostBytes: 2 * 12 * 4,
    });
    for (const step of rest) expect(step).toEqual(none);
    expect(rest.length).toBe(3);
    expect(r?.cudaVsCpu as number).toBeLessThan(1e-4);
    expect(r?.cudaVsGolden as number).toBeLessThan(1e-3);
    expect(r?.resultDevice).toBe('cpu');
  });

  it("PixArt-Σ PipeFusion with stale patches on the device: the DPM history cut into bands there gives the CPU group's result; a hop copies only what gloo stages", async () => {
    const [cpu, cuda] = await Promise.all([
      pixartPipeFusionOn('cpu', emulation.env()),
      pixartPipeFusionOn('cuda:0', emulation.env()),
    ]);
    if ('failed' in cpu) throw new Error(cpu.failed);
    if ('failed' in cuda) throw new Error(cuda.failed);
    // Measured 9.3e-7 (the GEMMs' summation order); the stale path itself is 1.5e-3 from one process.
    expect(relativeError(cuda.latents, cpu.latents)).toBeLessThan(1e-5);
    // Both ranks share the GPU, so gloo stages every message through the host: one copy down on the
    // sender, one up on the receiver. A stage state of n tokens is [2, 6·32] + [2, 32] + [2, n, 32] +
    // the caption [2, 12, 32] in f32 (CFG batched): 8,960 B for the whole image (16 tokens), 6,912 B for
    // a patch (8); the latents are 1,024 B whole, 512 B a band. Once per request: the position table
    // (2,048 B) goes up on stage 0, and each stage reads the caption masks ([2, 12] f32, 96 B) for the
    // kept tokens. Nothing else: the caption mask no longer travels with the patches (it was built on the
    // host and uploaded by the sender, and read back by the receiver, at every hop).
    const patch = 6_912;
    expect(cuda.copies[0]).toEqual([
      copies([2_048], [96, 8_960]),
      copies([1_024], [patch, patch]),
      copies([512, 512], [patch, patch]),
      copies([512, 512], [patch, patch]),
    ]);
    expect(cuda.copies[1]).toEqual([
      copies([8_960], [96, 1_024]),
      copies([patch, patch], [512, 512]),
      copies([patch, patch], [512, 512]),
      copies([patch, patch], []),
    ]);
  }, 120_000);

  it('PixArt-Σ PipeFusion over NCCL (one emulated GPU per rank): no host↔device copy in a step but the once-per-request ones of the first, every receive and send waited for on the device', async () => {
    // The fake libnccl moves nothing, so the values are not checked, only what the ranks copy. Before, the
    // group failed at its end: the last stage sent its host latents to the leader over NCCL, which moves
    // device memory only ('buffers must be CUDA memory').
    const dir = mkdtempSync(join(tmpdir(), 'tessera-pipefusion-nccl-'));
    try {
      const log = join(dir, 'calls.log');
      // Each transfer takes 1 s on the fake driver, far longer than a patch of this tiny model: a receive
      // posted one patch ahead is still in flight when the stage needs it.
      const env = {
        ...emulation.env({ nccl: true }),
        TESSERA_EMULATION_DEVICES: '2',
        FAKE_NCCL_LOG: log,
        FAKE_CUDA_EVENT_MS: '1000',
      };
      const r = await pixartPipeFusionOn('cuda', env);
      if ('failed' in r) throw new Error(r.failed);
      const none = copies([], []);
      expect(r.copies).toEqual([
        [copies([2_048], [96]), none, none, none],
        [copies([], [96]), none, none, none],
      ]);
      // Every receive and every send is waited for on the device, not on the host: the default stream is
      // made to wait for a receive before the kernels that read it are queued, and for the step's sends
      // before their messages are freed (in the default stream's order). Stage 0 receives the whole latents
      // once (step 1) and 2 bands in each of steps 2 and 3 (5), and sends the whole state in the warm-up
      // step and 2 patch states in each of steps 1–3 (7); stage 1 receives those 7 and sends those 5.
      // (The result's way to the leader, once, is awaited.) Before, the sends were awaited on the host at
      // the end of every step: 5 and 7.
      const lines = readFileSync(log, 'utf8').trim().split('\n');
      const pids = [...new Set(lines.filter((l) => l.startsWith('cuda ')).map((l) => l.split(' ')[1]))];
      const waits = pids.map((pid) => lines.filter((l) => l === `cuda ${pid} wait default`).length);
      expect(waits.sort()).toEqual([12, 12]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('bf16 attention goes through cuDNN, f32 through the built-in kernel, and says why', async () => {
    const [withCudnn] = await run('attentionPath', emulation.env());
    expect(withCudnn).toEqual({
      bf16: '',
      f32: 'tessera_cuda_attention_cudnn: cuDNN flash attention runs bf16 only',
    });
    const [without] = await run('attentionPath', { ...emulation.env(), TESSERA_EMULATION_NO_CUDNN: '1' });
    expect(without?.bf16).toMatch(/cuDNN not found/);
    const [forced] = await run('attentionPath', { ...emulation.env(), TESSERA_ATTENTION: 'native' });
    expect(forced).toEqual({ bf16: 'TESSERA_ATTENTION=native', f32: 'TESSERA_ATTENTION=native' });
  });

  it('the GPU start-up check names the first missing piece', async () => {
    const [r] = await run('gpuRuntime', emulation.env());
    expect(r?.two).toBe('1 GPU(s) visible, the plan needs 2 in this pod');
    expect(r?.one).toMatch(/^NCCL is missing: NCCL backend unavailable: cannot load libnccl\.so\.2/);
    expect(r?.noNccl).toBe('ok');
    expect(r?.found).toContain('cuDNN 9.19.0: emulated-libcudnn.so.9');
    const [withNccl] = await run('gpuRuntime', emulation.env({ nccl: true }));
    expect(withNccl?.one).toBe('ok');
    const [noCudnn] = await run('gpuRuntime', { ...emulation.env(), TESSERA_EMULATION_NO_CUDNN: '1' });
    expect(noCudnn?.noNccl).toMatch(/^cuDNN is missing: cuDNN not found .*TESSERA_ATTENTION=native/);
    expect(noCudnn?.nativeAttention).toBe('ok');
  });

  it('Ring attention over gloo with device blocks: staged through the host, merged on the device', async () => {
    const results = await run('ring', emulation.env(), 2);
    for (const r of results) {
      expect(r.device).toBe('cuda');
      expect(r.diff as number).toBeLessThan(2e-6);
      // One hop of K and V: each is read to the host to send and written back after the receive.
      expect(r.staged).toMatchObject({ deviceToHost: 2, hostToDevice: 2 });
    }
  });

  it("Ring over NCCL: each hop goes on the ring communicator's stream after the kernels that wrote its blocks, block 0's attention runs while it is in flight, the default stream waits for it on the device before block 1's (the host does not); a hop that never ends fails the rank with the reason", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-ring-nccl-'));
    /** Per rank process, the JavaScript thread's and the communicator lane's calls in log order. */
    const callsOf = (log: string): string[][] => {
      const lines = readFileSync(log, 'utf8').trim().split('\n');
      const pids = [...new Set(lines.filter((l) => l.startsWith('cuda ')).map((l) => l.split(' ')[1]))];
      expect(pids).toHaveLength(2);
      return pids.map((pid) =>
        lines.filter((l) => l.startsWith(`cuda ${pid} `)).map((l) => l.split(' ').slice(2).join(' ')),
      );
    };
    /** The calls of the JavaScript thread alone (the lane makes the communicator's stream wait and records). */
    const jsThread = (calls: string[]) => calls.filter((c) => c !== 'wait comm' && c !== 'record comm');
    try {
      const log = join(dir, 'calls.log');
      // Each hop takes 300 ms on the fake driver, so it is still in flight when block 1 is queued (a hop
      // the host already saw complete needs no wait on the device).
      const env = { ...emulation.env({ nccl: true }), FAKE_NCCL_LOG: log, FAKE_CUDA_EVENT_MS: '300' };
      for (const r of await run('ringNccl', env, 2)) {
        expect(r).toMatchObject({ backend: 'nccl', device: 'cuda', error: '' });
        // NCCL reads and writes device memory: nothing is staged through the host.
        expect(r.staged).toMatchObject({ hostToDevice: 0, deviceToHost: 0 });
      }
      for (const calls of callsOf(log)) {
        // The hop's 'ready' event is recorded on the default stream (where every kernel is queued) before
        // anything else, so the hop reads the K/V after the kernels that wrote them; the lane makes the
        // communicator's own stream wait on it, issues the hop and records the hop's event. Block 0's
        // attention is launched beside the hop; then the default stream is made to wait for the hop's
        // event on the device, and block 1's attention, which reads the received K/V, is queued behind it.
        expect(jsThread(calls)).toEqual([
          'record default',
          'kernel attention',
          'wait default',
          'kernel attention',
        ]);
        expect(calls.indexOf('wait comm')).toBeLessThan(calls.indexOf('record comm'));
        expect(calls.indexOf('record comm')).toBeLessThan(calls.indexOf('wait default'));
      }
      // A hop that never completes (the fake driver's events stay pending): block 1's attention is
      // launched all the same, queued on the device behind the wait for the hop, so no host wait for the
      // hop sits between the blocks; the ring awaits the hop's completion once, at its end, and the
      // watchdog's timeout ends it with the reason.
      const stuck = join(dir, 'stuck.log');
      writeFileSync(join(dir, 'hang'), '');
      const hung = { ...env, FAKE_NCCL_LOG: stuck, FAKE_CUDA_HANG_FILE: join(dir, 'hang') };
      for (const r of await run('ringNccl', hung, 2)) {
        expect(r.error as string).toMatch(/nccl send\/recv timed out after 1000 ms/);
      }
      for (const calls of callsOf(stuck)) {
        expect(jsThread(calls)).toEqual([
          'record default',
          'kernel attention',
          'wait default',
          'kernel attention',
        ]);
        expect(calls.indexOf('record comm')).toBeLessThan(calls.indexOf('wait default'));
      }

      // Two layers on one clock (a Ulysses all-to-all, then a Ring attention), as a forward runs them: the
      // device waits for each operation and the host queues the next layer without waiting for the
      // first's transfer; the completions are awaited once, at the clock's settle. With transfers that
      // never complete both layers are queued all the same, and the settle ends with the reason.
      const layers = [
        'record default',
        'wait default',
        'record default',
        'kernel attention',
        'wait default',
        'kernel attention',
      ];
      const twoLayers = join(dir, 'layers.log');
      for (const r of await run('layersNccl', { ...env, FAKE_NCCL_LOG: twoLayers }, 2))
        expect(r.error).toBe('');
      for (const calls of callsOf(twoLayers)) expect(jsThread(calls)).toEqual(layers);
      const twoStuck = join(dir, 'layers-stuck.log');
      for (const r of await run('layersNccl', { ...hung, FAKE_NCCL_LOG: twoStuck }, 2)) {
        expect(r.error as string).toMatch(/nccl allToAll timed out after 1000 ms/);
      }
      for (const calls of callsOf(twoStuck)) expect(jsThread(calls)).toEqual(layers);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
