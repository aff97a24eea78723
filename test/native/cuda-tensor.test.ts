// Tensors and kernels on device 'cuda' against the CPU kernels. Without a usable GPU (most machines,
// CI), the one check that runs is that asking for 'cuda' fails with the backend's reason.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { nativeAddonPath, ops, Tensor } from '../../src/runtime/native/index.js';
import { product, randomValues, worstError } from './reference.js';

interface CudaStatusExport {
  cudaStatus(): { available: boolean; reason: string | null };
}
const status = (createRequire(import.meta.url)(nativeAddonPath()) as CudaStatusExport).cudaStatus();
if (!status.available) console.log(`CUDA tensor tests skipped: ${status.reason} (no GPU here)`);

const random = (shape: number[], seed: number): Tensor =>
  Tensor.fromArray(randomValues(product(shape), seed), shape);
const gpu = (t: Tensor): Tensor => t.toDevice('cuda');
const host = (t: Tensor): Float32Array => t.toDevice('cpu').toFloat32Array();

describe('device cuda', () => {
  it.runIf(!status.available)('without a GPU, allocating on cuda fails with the reason', () => {
    expect(() => Tensor.empty([2], 'f32', 'cuda')).toThrow(
      `device 'cuda' is not available: ${status.reason}`,
    );
    expect(() => random([2], 1).toDevice('cuda')).toThrow(/device 'cuda' is not available/);
  });

  describe.runIf(status.available)('with a GPU', () => {
    it('round-trips values and dtypes between host and device', () => {
      const x = random([3, 5], 1);
      expect(host(gpu(x))).toEqual(x.toFloat32Array());
      const bf = gpu(x).to('bf16');
      expect(bf.dtype).toBe('bf16');
      expect(host(bf)).toEqual(x.to('bf16').toFloat32Array());
      expect(host(gpu(x).transpose(0, 1).contiguous())).toEqual(
        x.transpose(0, 1).contiguous().toFloat32Array(),
      );
      expect(host(gpu(x).narrow(1, 1, 3).contiguous())).toEqual(
        x.narrow(1, 1, 3).contiguous().toFloat32Array(),
      );
    });

    it('f32 kernels match the CPU kernels', () => {
      const x = random([2, 7, 64], 2);
      const w = random([48, 64], 3);
      const b = random([48], 4);
      const cases: [string, () => Tensor, () => Tensor][] = [
        ['linear', () => ops.linear(x, w, b), () => ops.linear(gpu(x), gpu(w), gpu(b))],
        ['layerNorm', () => ops.layerNorm(x), () => ops.layerNorm(gpu(x))],
        [
          'rmsNorm',
          () => ops.rmsNorm(x, { weight: random([64], 5) }),
          () => ops.rmsNorm(gpu(x), { weight: gpu(random([64], 5)) }),
        ],
        ['gelu', () => ops.gelu(x), () => ops.gelu(gpu(x))],
        ['softmax', () => ops.softmax(x), () => ops.softmax(gpu(x))],
        ['add', () => ops.add(x, random([64], 6)), () => ops.add(gpu(x), gpu(random([64], 6)))],
        ['concat', () => ops.concat([x, x], 1), () => ops.concat([gpu(x), gpu(x)], 1)],
      ];
      for (const [name, cpu, cuda] of cases) {
        expect(worstError(host(cuda()), cpu().toFloat32Array(), 1e-4, 1e-5), name).toBeLessThanOrEqual(1);
      }
    });

    it('attention with lse matches the CPU kernel', () => {
      const q = random([1, 300, 2, 64], 7);
      const k = random([1, 520, 2, 64], 8);
      const v = random([1, 520, 2, 64], 9);
      const cpu = ops.attentionWithLse(q, k, v);
      const lse = Tensor.empty([1, 2, 300], 'f32', 'cuda');
      const cuda = ops.attentionWithLse(gpu(q), gpu(k), gpu(v), { lse });
      expect(worstError(host(cuda.out), cpu.out.toFloat32Array(), 1e-3, 1e-4)).toBeLessThanOrEqual(1);
      expect(worstError(host(cuda.lse), cpu.lse.toFloat32Array(), 1e-4, 1e-4)).toBeLessThanOrEqual(1);
    });
  });
});
