/**
 * On a GPU: the paths through NVIDIA's libraries and the step ops, through the tensor API, against the
 * CPU (whose kernels test/native checks against float64 references). f32 must agree to float32 rounding,
 * bf16 within a normalised-MSE bound (inputs are rounded to bf16 first, so only the arithmetic differs).
 * Also: a step's ops make no host↔device copy, NCCL reads what the kernels queued before it wrote, and
 * cuDNN's flash attention gives the own kernel's output and LSE.
 *
 * Elsewhere it prints why and skips.
 */
import { describe, expect, it } from 'vitest';
import { createCommunicator } from '../../src/runtime/comm/index.js';
import {
  attentionFallbackReason,
  cudaLibraries,
  cudaStatus,
  ops,
  resetTransferCounts,
  synchronizeCuda,
  Tensor,
  transferCounts,
} from '../../src/runtime/native/index.js';
import { localStore } from '../support/group-secret.js';
import { rng } from '../support/rng.js';

let status: ReturnType<typeof cudaStatus> | undefined;
let why = '';
try {
  status = cudaStatus();
  why = status.reason ?? '';
} catch (error) {
  why = String(error);
}
const gpu = status?.available === true;
if (!gpu) console.warn(`library-paths: skipped — no CUDA device here (${why})`);

type Dtype = 'f32' | 'bf16';
const BOUND: Record<Dtype, number> = { f32: 1e-10, bf16: 5e-5 };

function random(shape: number[], seed: number, scale = 1): Tensor {
  const next = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return Tensor.fromArray(
    Float32Array.from({ length: n }, () => (2 * next() - 1) * scale),
    shape,
  );
}

/** The same values on the GPU in `dtype`, and on the CPU rounded the same way (as f32). */
function pair(t: Tensor, dtype: Dtype): { gpu: Tensor; cpu: Tensor } {
  const rounded = t.to(dtype);
  return { gpu: rounded.toDevice('cuda'), cpu: rounded.to('f32') };
}

function nmse(actual: Tensor, expected: Tensor): number {
  const a = actual.toFloat32Array();
  const e = expected.toFloat32Array();
  expect(a.length).toBe(e.length);
  let err = 0;
  let ref = 0;
  for (let i = 0; i < e.length; i++) {
    err += ((a[i] as number) - (e[i] as number)) ** 2;
    ref += (e[i] as number) ** 2;
  }
  return ref === 0 ? err : err / ref;
}

describe.skipIf(!gpu)('library paths and step ops on the GPU match the CPU', () => {
  it('reports the NVIDIA libraries it loaded', () => {
    const libraries = cudaLibraries();
    for (const [name, probe] of Object.entries(libraries)) {
      console.log(
        `library-paths: ${name}: ${probe.found ? `${probe.path} (${probe.version})` : probe.error}`,
      );
    }
    expect(libraries.cublas.found && libraries.cublasLt.found).toBe(true);
  });

  for (const dtype of ['f32', 'bf16'] as const) {
    it(`linear and linearGelu through cuBLASLt, aligned and misaligned operands (${dtype})`, () => {
      for (const [m, k, n] of [
        [4608, 3072, 64],
        [77, 96, 40],
        [1, 256, 3072],
      ] as const) {
        const x = pair(random([m, k], 1), dtype);
        const w = pair(random([n, k], 2, 0.05), dtype);
        const b = pair(random([n], 3), dtype);
        const expected = ops.linear(x.cpu, w.cpu, b.cpu);
        expect(nmse(ops.linear(x.gpu, w.gpu, b.gpu), expected), `linear ${m}×${k}×${n}`).toBeLessThan(
          BOUND[dtype],
        );
        const gelu = ops.gelu(expected);
        expect(nmse(ops.linearGelu(x.gpu, w.gpu, b.gpu), gelu), `linearGelu ${m}×${k}×${n}`).toBeLessThan(
          BOUND[dtype] * 4,
        );
        expect(nmse(ops.linearGelu(x.gpu, w.gpu), ops.gelu(ops.linear(x.cpu, w.cpu)))).toBeLessThan(
          BOUND[dtype] * 4,
        );
      }
      // A view one element into a buffer: not 16-byte aligned, so cuBLASLt must pick a kernel for it.
      const big = pair(random([1, 33 * 64 + 1], 4), dtype);
      const x = big.gpu.narrow(1, 1, 33 * 64).reshape([33, 64]);
      const w = pair(random([24, 64], 5), dtype);
      const expected = ops.linear(big.cpu.narrow(1, 1, 33 * 64).reshape([33, 64]), w.cpu);
      expect(nmse(ops.linear(x, w.gpu), expected)).toBeLessThan(BOUND[dtype]);
    });

    it(`attention: cuDNN (bf16) or the own kernel (f32), output and LSE (${dtype})`, () => {
      const [b, sq, sk, h, d] = [1, 300, 517, 4, 128];
      const q = pair(random([b, sq, h, d], 6), dtype);
      const k = pair(random([b, sk, h, d], 7), dtype);
      const v = pair(random([b, sk, h, d], 8), dtype);
      const expected = ops.attentionWithLse(q.cpu, k.cpu, v.cpu);
      const actual = ops.attentionWithLse(q.gpu, k.gpu, v.gpu);
      const path = attentionFallbackReason();
      console.log(
        `library-paths: attention ${dtype}: ${path === '' ? 'cuDNN flash attention' : `own kernel (${path})`}`,
      );
      if (dtype === 'bf16' && cudaLibraries().cudnn.found) expect(path).toBe('');
      expect(nmse(actual.out, expected.out)).toBeLessThan(BOUND[dtype]);
      expect(nmse(actual.lse, expected.lse)).toBeLessThan(BOUND.f32 * 100);
    });

    it(`step ops and fused chains (${dtype})`, () => {
      const latents = pair(random([1, 4096, 64], 10), 'f32');
      const velocity = pair(random([2, 4096, 64], 11), dtype);
      const [u, c] = velocity.gpu.split(2, 0) as [Tensor, Tensor];
      const [uc, cc] = velocity.cpu.split(2, 0) as [Tensor, Tensor];
      expect(nmse(ops.guidanceCombine(u, c, 3.5), ops.guidanceCombine(uc, cc, 3.5))).toBeLessThan(
        BOUND[dtype],
      );
      const stepped = ops.scaledAdd(latents.gpu, c, -0.0357);
      if (dtype === 'f32') {
        // Torch's two roundings on both sides: the same bits.
        expect(Array.from(stepped.toFloat32Array())).toEqual(
          Array.from(ops.scaledAdd(latents.cpu, cc, -0.0357).toFloat32Array()),
        );
      }
      expect(nmse(stepped, ops.scaledAdd(latents.cpu, cc, -0.0357))).toBeLessThan(BOUND.f32);

      const x = pair(random([2, 333, 3072], 12), dtype);
      const shift = pair(random([2, 3072], 13), dtype);
      const scale = pair(random([2, 3072], 14), dtype);
      expect(
        nmse(
          ops.layerNormModulate(x.gpu, shift.gpu, scale.gpu),
          ops.layerNormModulate(x.cpu, shift.cpu, scale.cpu),
        ),
      ).toBeLessThan(BOUND[dtype] * 4);

      const q = pair(random([1, 100, 24, 128], 15), dtype);
      const w = pair(random([128], 16), dtype);
      const cos = random([140, 128], 17);
      const sin = random([140, 128], 18);
      const joint = Tensor.zeros([1, 140, 24, 128], dtype, 'cuda');
      ops.rmsNormRope(q.gpu, {
        weight: w.gpu,
        cos: cos.toDevice('cuda'),
        sin: sin.toDevice('cuda'),
        out: joint,
        outOffset: 40,
      });
      const jointCpu = Tensor.zeros([1, 140, 24, 128]);
      ops.rmsNormRope(q.cpu, { weight: w.cpu, cos, sin, out: jointCpu, outOffset: 40 });
      expect(nmse(joint, jointCpu)).toBeLessThan(BOUND[dtype] * 4);

      const t = [1000, 875.5, 3.25];
      const emb = ops.timestepSinusoid(t, { device: 'cuda', dtype });
      expect(nmse(emb, ops.timestepSinusoid(t))).toBeLessThan(dtype === 'f32' ? 1e-12 : BOUND.bf16);
    });

    it(`Ring's LSE merge of two key halves equals attention over all keys (${dtype})`, () => {
      const [b, sq, sk, h, d] = [1, 256, 512, 8, 64];
      const q = pair(random([b, sq, h, d], 20), dtype);
      const k = pair(random([b, sk, h, d], 21), dtype);
      const v = pair(random([b, sk, h, d], 22), dtype);
      const first = ops.attentionWithLse(q.gpu, k.gpu.narrow(1, 0, 200), v.gpu.narrow(1, 0, 200));
      const second = ops.attentionWithLse(q.gpu, k.gpu.narrow(1, 200, 312), v.gpu.narrow(1, 200, 312));
      const acc = first.out.to('f32');
      ops.lseMerge(acc, first.lse, second.out, second.lse);
      const full = ops.attentionWithLse(q.cpu, k.cpu, v.cpu);
      expect(nmse(acc, full.out)).toBeLessThan(BOUND[dtype]);
      expect(nmse(first.lse, full.lse)).toBeLessThan(BOUND.f32 * 100);
    });
  }

  it('a chain of step ops on the device makes no host↔device copy', () => {
    const x = random([2, 4096, 3072], 30).to('bf16').toDevice('cuda');
    const w = random([3072, 3072], 31, 0.02).to('bf16').toDevice('cuda');
    const shift = random([2, 3072], 32).to('bf16').toDevice('cuda');
    const latents = random([2, 4096, 3072], 33).toDevice('cuda');
    resetTransferCounts();
    const h = ops.layerNormModulate(x, shift, shift);
    const y = ops.linearGelu(h, w);
    const [u, c] = y.split(2, 0) as [Tensor, Tensor];
    const g = ops.guidanceCombine(u, c, 4);
    ops.scaledAdd(latents.narrow(0, 0, 1), g, -0.02);
    ops.timestepSinusoid([500], { device: 'cuda', dtype: 'bf16' });
    synchronizeCuda();
    expect(transferCounts()).toEqual({
      hostToDevice: 0,
      hostToDeviceBytes: 0,
      deviceToHost: 0,
      deviceToHostBytes: 0,
    });
  });

  it('NCCL reads what the kernels queued before it wrote (one rank, 256 MiB written by a kernel chain)', async () => {
    const store = await localStore(30_000);
    const comm = await createCommunicator({ backend: 'nccl', store, rank: 0, size: 1, timeoutMs: 60_000 });
    try {
      const n = 64 * 1024 * 1024;
      const input = Tensor.zeros([n], 'f32', 'cuda');
      // Slow enough that an unordered NCCL copy would read zeros: several full passes before the gather.
      for (let i = 0; i < 8; i++) ops.affine(input, 1, 0.5, input);
      const output = Tensor.zeros([n], 'f32', 'cuda');
      await comm.allGather(input, output);
      const head = output.narrow(0, 0, 4).toFloat32Array();
      const tail = output.narrow(0, n - 4, 4).toFloat32Array();
      expect(Array.from(head)).toEqual([4, 4, 4, 4]);
      expect(Array.from(tail)).toEqual([4, 4, 4, 4]);
      expect(comm.failure).toBeUndefined();
    } finally {
      await comm.close();
      store.close();
    }
  });
});
