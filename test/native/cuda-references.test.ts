/**
 * The float64 references the GPU suite holds the CUDA kernels to (test/support/cuda-cases.ts) agree with
 * the tensor core's CPU kernels on the same inputs — so the GPU suite passing means CUDA matches the CPU.
 * It also keeps the two backends' conventions in step: argument order, RoPE table layout, LSE layout,
 * AdaLN vectors. Runs everywhere (CPU only); bf16 inputs are read by the CPU kernels as exact floats.
 */
import { describe, expect, it } from 'vitest';
import { type NativeCore, type NativeTensor, nativeCore } from '../../src/runtime/native/binding.js';
import { bound, cases, type Dtype, nmse, type Run } from '../support/cuda-cases.js';
import { rng } from '../support/rng.js';

/** Runs the CPU kernel for a case; returns the outputs by buffer index, as the CUDA run would fill them. */
type CpuRun = (core: NativeCore, r: Run) => Map<number, Float32Array>;

function tensor(core: NativeCore, r: Run, index: number, shape: readonly number[]): NativeTensor {
  const buffer = r.buffers[index]!;
  return core.fromArray(buffer, shape, buffer instanceof Float32Array ? 'f32' : 'bf16');
}

function optional(
  core: NativeCore,
  r: Run,
  index: number,
  shape: readonly number[],
): NativeTensor | undefined {
  return r.buffers[index]!.length === 0 ? undefined : tensor(core, r, index, shape);
}

function f32(t: NativeTensor): Float32Array {
  return Float32Array.from(t.to('f32').contiguous().data() as Float32Array);
}

const binary =
  (op: 'add' | 'sub' | 'mul' | 'div'): CpuRun =>
  (core, r) => {
    // b repeats along a: view a as [n / b_n, b_n] so NumPy broadcasting does the same.
    const n = r.buffers[0]!.length;
    const bn = r.buffers[1]!.length;
    return new Map([
      [2, f32(core[op](tensor(core, r, 0, [n / bn, bn]), tensor(core, r, 1, [bn]), undefined))],
    ]);
  };

const cpu: Record<string, CpuRun> = {
  add: binary('add'),
  sub: binary('sub'),
  mul: binary('mul'),
  div: binary('div'),
  affine: (core, r) => {
    const [mul, add] = r.params as [number, number];
    return new Map([[1, f32(core.affine(tensor(core, r, 0, [r.buffers[0]!.length]), mul, add, undefined))]]);
  },
  gelu_tanh: (core, r) =>
    new Map([[1, f32(core.gelu(tensor(core, r, 0, [r.buffers[0]!.length]), undefined))]]),
  silu: (core, r) => new Map([[1, f32(core.silu(tensor(core, r, 0, [r.buffers[0]!.length]), undefined))]]),
  layer_norm: (core, r) => {
    const [cols, eps] = r.params as [number, number];
    const x = tensor(core, r, 0, [r.buffers[0]!.length / cols, cols]);
    const y = core.layerNorm(x, optional(core, r, 1, [cols]), optional(core, r, 2, [cols]), eps, undefined);
    return new Map([[3, f32(y)]]);
  },
  rms_norm: (core, r) => {
    const [cols, eps] = r.params as [number, number];
    const x = tensor(core, r, 0, [r.buffers[0]!.length / cols, cols]);
    return new Map([[2, f32(core.rmsNorm(x, optional(core, r, 1, [cols]), eps, undefined))]]);
  },
  softmax: (core, r) => {
    const [cols] = r.params as [number];
    return new Map([
      [1, f32(core.softmax(tensor(core, r, 0, [r.buffers[0]!.length / cols, cols]), undefined))],
    ]);
  },
  modulate: (core, r) => {
    const [b, t, d] = r.params as [number, number, number];
    // CUDA takes (scale, shift); the CPU binding takes (shift, scale).
    const y = core.modulate(
      tensor(core, r, 0, [b, t, d]),
      tensor(core, r, 2, [b, d]),
      tensor(core, r, 1, [b, d]),
      undefined,
    );
    return new Map([[3, f32(y)]]);
  },
  gated_residual: (core, r) => {
    const [b, t, d] = r.params as [number, number, number];
    const y = core.gatedResidual(
      tensor(core, r, 0, [b, t, d]),
      tensor(core, r, 1, [b, d]),
      tensor(core, r, 2, [b, t, d]),
      undefined,
    );
    return new Map([[3, f32(y)]]);
  },
  rope: (core, r) => {
    const [b, s, h, d] = r.params as [number, number, number, number];
    const y = core.rope(
      tensor(core, r, 0, [b, s, h, d]),
      tensor(core, r, 1, [s, d]),
      tensor(core, r, 2, [s, d]),
      undefined,
    );
    return new Map([[3, f32(y)]]);
  },
  attention: (core, r) => {
    const [b, sq, skv, h, d, scale] = r.params as [number, number, number, number, number, number];
    const lse = core.empty([b, h, sq], 'f32');
    const out = core.attention(
      tensor(core, r, 0, [b, sq, h, d]),
      tensor(core, r, 1, [b, skv, h, d]),
      tensor(core, r, 2, [b, skv, h, d]),
      scale,
      undefined,
      lse,
    );
    return new Map([
      [3, f32(out)],
      [4, f32(lse)],
    ]);
  },
  permute: (core, r) => {
    const rank = r.params[0]!;
    const shape = r.params.slice(1, 1 + rank);
    const order = r.params.slice(1 + rank, 1 + 2 * rank);
    return new Map([[1, f32(tensor(core, r, 0, shape).permute(order).contiguous())]]);
  },
  concat: (core, r) => {
    const [outer, ai, bi] = r.params as [number, number, number];
    return new Map([
      [2, f32(core.concat([tensor(core, r, 0, [outer, ai]), tensor(core, r, 1, [outer, bi])], 1))],
    ]);
  },
  group_norm: (core, r) => {
    const [n, c, spatial, groups, eps] = r.params as [number, number, number, number, number];
    const x = tensor(core, r, 0, [n, c, spatial]);
    const y = core.groupNorm(x, groups, optional(core, r, 1, [c]), optional(core, r, 2, [c]), eps, undefined);
    return new Map([[3, f32(y)]]);
  },
  conv2d: (core, r) => {
    const [n, cIn, h, w, cOut, kh, kw, sh, sw, ph, pw] = r.params as number[] as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const y = core.conv2d(
      tensor(core, r, 0, [n, cIn, h, w]),
      tensor(core, r, 1, [cOut, cIn, kh, kw]),
      optional(core, r, 2, [cOut]),
      sh,
      sw,
      ph,
      pw,
      undefined,
    );
    return new Map([[3, f32(y)]]);
  },
  upsample_nearest: (core, r) => {
    const [n, c, h, w, fh, fw] = r.params as [number, number, number, number, number, number];
    return new Map([[1, f32(core.upsampleNearest(tensor(core, r, 0, [n, c, h, w]), fh, fw, undefined))]]);
  },
};

describe('the CUDA suite references match the CPU kernels', () => {
  const core = nativeCore();

  it('has a CPU counterpart for every case', () => {
    const missing = cases.map((c) => c.build('f32', rng(1)).op).filter((op) => !(op in cpu));
    expect(missing).toEqual([]);
  });

  for (const dtype of ['f32', 'bf16'] as const satisfies readonly Dtype[]) {
    for (const [index, c] of cases.entries()) {
      it(`${c.name} (${dtype} inputs)`, () => {
        const r = c.build(dtype, rng(1000 + index));
        const outputs = cpu[r.op]!(core, r);
        expect([...outputs.keys()].sort()).toEqual([...r.expect.keys()].sort());
        for (const [buffer, expected] of r.expect) {
          const err = nmse(Float64Array.from(outputs.get(buffer)!), expected);
          // The CPU writes f32 whatever the input storage: the f32 bound applies to both.
          expect(err, `${r.op} buffer ${buffer}: NMSE ${err.toExponential(2)}`).toBeLessThan(bound.f32);
        }
      });
    }
  }
});
