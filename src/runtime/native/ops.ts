/**
 * Kernels over Tensor. On 'cpu', inputs may be any dtype or layout (read as f32) and results are
 * contiguous f32. On 'cuda' (when the first tensor is there), all inputs must be on the GPU, the compute
 * and result dtype is the first input's (f32 or bf16), and the CUDA backend (native/src/cuda) runs them.
 * Every op takes an optional `out`: a contiguous f32 tensor of the result's shape written instead of
 * allocating, which keeps the denoising loop free of allocations. Element-wise ops (gelu, silu, add,
 * modulate, gatedResidual, rope, affine, norms) accept an input as `out` to work in place.
 */
import { type CpuKernelInfo, type Device, type DType, type NativeTensor, nativeCore } from './binding.js';
import { Tensor } from './tensor.js';

function wrap(result: NativeTensor, out: Tensor | undefined): Tensor {
  return out ?? new Tensor(result);
}

function handleOf(t: Tensor | undefined): NativeTensor | undefined {
  return t?.handle;
}

/** y = x·wᵀ + b, with x [..., in], w [out, in] (PyTorch nn.Linear layout), b [out] → [..., out]. */
export function linear(x: Tensor, w: Tensor, b?: Tensor, out?: Tensor): Tensor {
  return wrap(nativeCore().linear(x.handle, w.handle, handleOf(b), handleOf(out)), out);
}

/** a [..., M, K] · b [..., K, N] (b may be 2-D, shared by all batches); transposeB reads b as [..., N, K]. */
export function matmul(a: Tensor, b: Tensor, options: { transposeB?: boolean; out?: Tensor } = {}): Tensor {
  const { transposeB = false, out } = options;
  return wrap(nativeCore().matmul(a.handle, b.handle, transposeB, handleOf(out)), out);
}

export interface NormOptions {
  weight?: Tensor;
  bias?: Tensor;
  eps?: number;
  out?: Tensor;
}

/** LayerNorm over the last axis; affine when weight/bias are given. eps defaults to 1e-6 (DiT blocks). */
export function layerNorm(x: Tensor, options: NormOptions = {}): Tensor {
  const { weight, bias, eps = 1e-6, out } = options;
  return wrap(nativeCore().layerNorm(x.handle, handleOf(weight), handleOf(bias), eps, handleOf(out)), out);
}

/** RMSNorm over the last axis: x / sqrt(mean(x²) + eps) · weight. eps defaults to 1e-6. */
export function rmsNorm(x: Tensor, options: Omit<NormOptions, 'bias'> = {}): Tensor {
  const { weight, eps = 1e-6, out } = options;
  return wrap(nativeCore().rmsNorm(x.handle, handleOf(weight), eps, handleOf(out)), out);
}

/** GroupNorm of x [N, C, ...] over `groups` channel groups; per-channel affine. eps defaults to 1e-6 (VAE). */
export function groupNorm(x: Tensor, groups: number, options: NormOptions = {}): Tensor {
  const { weight, bias, eps = 1e-6, out } = options;
  return wrap(
    nativeCore().groupNorm(x.handle, groups, handleOf(weight), handleOf(bias), eps, handleOf(out)),
    out,
  );
}

/** GELU, tanh approximation. */
export function gelu(x: Tensor, out?: Tensor): Tensor {
  return wrap(nativeCore().gelu(x.handle, handleOf(out)), out);
}

export function silu(x: Tensor, out?: Tensor): Tensor {
  return wrap(nativeCore().silu(x.handle, handleOf(out)), out);
}

/** Softmax over the last axis. */
export function softmax(x: Tensor, out?: Tensor): Tensor {
  return wrap(nativeCore().softmax(x.handle, handleOf(out)), out);
}

export interface AttentionOptions {
  /** Defaults to 1/√D. */
  scale?: number;
  out?: Tensor;
}

/**
 * Non-causal multi-head attention. Layout [B, S, H, D] (the projection output reshaped, no transpose):
 * q [B, Sq, H, D], k and v [B, Sk, H, D] → [B, Sq, H, D].
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  const { scale = 1 / Math.sqrt(q.size(-1)), out } = options;
  return wrap(nativeCore().attention(q.handle, k.handle, v.handle, scale, handleOf(out), undefined), out);
}

/**
 * Attention that also returns lse [B, H, Sq] = log Σ_j exp(scale·q·k_j) per query and head, which Ring
 * attention needs to merge partial results: with (o1, l1), (o2, l2) over disjoint keys,
 * l = log(e^l1 + e^l2) and o = e^(l1−l)·o1 + e^(l2−l)·o2.
 */
export function attentionWithLse(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: AttentionOptions & { lse?: Tensor } = {},
): { out: Tensor; lse: Tensor } {
  const { scale = 1 / Math.sqrt(q.size(-1)) } = options;
  const lse = options.lse ?? Tensor.empty([q.size(0), q.size(2), q.size(1)], 'f32', q.device);
  const out = wrap(
    nativeCore().attention(q.handle, k.handle, v.handle, scale, handleOf(options.out), lse.handle),
    options.out,
  );
  return { out, lse };
}

/** Rotary embedding on interleaved pairs (2i, 2i+1) of x [B, S, H, D] with cos/sin tables [S, D]. */
export function rope(x: Tensor, cos: Tensor, sin: Tensor, out?: Tensor): Tensor {
  return wrap(nativeCore().rope(x.handle, cos.handle, sin.handle, handleOf(out)), out);
}

/** x·(1 + scale) + shift with x [B, ..., D] and shift/scale [B, D] (or [D] shared by the batch). */
export function modulate(x: Tensor, shift: Tensor, scale: Tensor, out?: Tensor): Tensor {
  return wrap(nativeCore().modulate(x.handle, shift.handle, scale.handle, handleOf(out)), out);
}

/** x + gate·y with x, y [B, ..., D] and gate [B, D] (or [D]). Pass out = x to update the residual in place. */
export function gatedResidual(x: Tensor, gate: Tensor, y: Tensor, out?: Tensor): Tensor {
  return wrap(nativeCore().gatedResidual(x.handle, gate.handle, y.handle, handleOf(out)), out);
}

/** Element-wise with NumPy broadcasting. */
export function add(a: Tensor, b: Tensor, out?: Tensor): Tensor {
  return wrap(nativeCore().add(a.handle, b.handle, handleOf(out)), out);
}
export function sub(a: Tensor, b: Tensor, out?: Tensor): Tensor {
  return wrap(nativeCore().sub(a.handle, b.handle, handleOf(out)), out);
}
export function mul(a: Tensor, b: Tensor, out?: Tensor): Tensor {
  return wrap(nativeCore().mul(a.handle, b.handle, handleOf(out)), out);
}
export function div(a: Tensor, b: Tensor, out?: Tensor): Tensor {
  return wrap(nativeCore().div(a.handle, b.handle, handleOf(out)), out);
}

/** x·mul + add. */
export function affine(x: Tensor, mul: number, add: number, out?: Tensor): Tensor {
  return wrap(nativeCore().affine(x.handle, mul, add, handleOf(out)), out);
}

/** Joins tensors along `axis` (any axis; all other sizes equal). Keeps the common dtype. */
export function concat(parts: readonly Tensor[], axis: number): Tensor {
  return new Tensor(
    nativeCore().concat(
      parts.map((p) => p.handle),
      axis,
    ),
  );
}

/** Views of x cut along `axis` (see Tensor.split). */
export function split(x: Tensor, sizes: number | readonly number[], axis: number): Tensor[] {
  return x.split(sizes, axis);
}

/** A contiguous copy of x with axes reordered (Tensor.permute gives the view). */
export function permute(x: Tensor, order: readonly number[]): Tensor {
  const view = x.permute(order);
  const dense = view.contiguous();
  if (dense !== view) view.release();
  return dense;
}

type Pair = number | readonly [number, number];

function pair(value: Pair): [number, number] {
  return typeof value === 'number' ? [value, value] : [value[0], value[1]];
}

/** 2-D convolution: x [N, C, H, W], weight [O, C, kh, kw], bias [O]. */
export function conv2d(
  x: Tensor,
  weight: Tensor,
  options: { bias?: Tensor; stride?: Pair; padding?: Pair; out?: Tensor } = {},
): Tensor {
  const [sh, sw] = pair(options.stride ?? 1);
  const [ph, pw] = pair(options.padding ?? 0);
  const { out } = options;
  return wrap(
    nativeCore().conv2d(x.handle, weight.handle, handleOf(options.bias), sh, sw, ph, pw, handleOf(out)),
    out,
  );
}

/** Nearest-neighbour upsampling of x [N, C, H, W] by integer factors. */
export function upsampleNearest(x: Tensor, factor: Pair, out?: Tensor): Tensor {
  const [fh, fw] = pair(factor);
  return wrap(nativeCore().upsampleNearest(x.handle, fh, fw, handleOf(out)), out);
}

/** Threads used by the kernels and OpenBLAS (TESSERA_NUM_THREADS, default: all cores). */
export function numThreads(): number {
  return nativeCore().numThreads();
}

export function setNumThreads(threads: number): void {
  nativeCore().setNumThreads(threads);
}

/** Which CPU kernels this process runs (chosen once from CPUID or TESSERA_CPU_KERNELS) and why. */
export function cpuKernels(): CpuKernelInfo {
  return nativeCore().cpuKernels();
}

/**
 * The GEMM micro-kernel's throughput on cache-resident data with every kernel thread busy, best of five
 * rounds over about `seconds`: the ceiling a GEMM can reach on this machine at this moment, in GFLOP/s.
 */
export function gemmCeiling(seconds = 0.5): number {
  return nativeCore().gemmCeiling(seconds);
}

/**
 * The weight dtypes the CPU's GEMMs read as they are: f32, bf16 and f16 with our kernels (widened while
 * packing); f32 only when OpenBLAS is the choice (it would need an f32 copy on every call).
 */
export function cpuWeightDtypes(): DType[] {
  return nativeCore().backendCapabilities('cpu')?.weightDtypes ?? ['f32'];
}

/**
 * x + alpha·y with the product rounded to float32 before the sum, as torch's `x + alpha * y`: the Euler
 * step `sample + dt·velocity`. On 'cuda' y may be bf16 while x is f32 (the result has x's dtype). Pass
 * out = x to update in place.
 */
export function scaledAdd(x: Tensor, y: Tensor, alpha: number, out?: Tensor): Tensor {
  return wrap(nativeCore().scaledAdd(x.handle, y.handle, alpha, handleOf(out)), out);
}

/** Classifier-free guidance: uncond + scale·(cond − uncond), each operation rounded to float32. */
export function guidanceCombine(uncond: Tensor, cond: Tensor, scale: number, out?: Tensor): Tensor {
  return wrap(nativeCore().guidanceCombine(uncond.handle, cond.handle, scale, handleOf(out)), out);
}

/**
 * Ring attention's merge, in place: folds a block result (blockOut [B, Sq, H, D], blockLse [B, H, Sq])
 * over disjoint keys into the running (out, lse): lse' = log(e^lse + e^blockLse) and
 * out' = e^(lse−lse')·out + e^(blockLse−lse')·blockOut. out and lse contiguous (out f32 on the CPU).
 */
export function lseMerge(out: Tensor, lse: Tensor, blockOut: Tensor, blockLse: Tensor): void {
  nativeCore().lseMerge(out.handle, lse.handle, blockOut.handle, blockLse.handle);
}

export interface TimestepSinusoidOptions {
  /** Width of the embedding; 256 for Flux and SD3. */
  channels?: number;
  /** diffusers' flip_sin_to_cos: cos first (true for Flux and SD3). */
  flipSinToCos?: boolean;
  downscaleFreqShift?: number;
  maxPeriod?: number;
  device?: Device;
  dtype?: DType;
}

/**
 * diffusers `get_timestep_embedding` of one timestep per sample → [B, channels], computed where `device`
 * says; on 'cuda' the values travel as kernel arguments, so nothing is copied to the GPU.
 */
export function timestepSinusoid(
  timesteps: readonly number[],
  options: TimestepSinusoidOptions = {},
): Tensor {
  const {
    channels = 256,
    flipSinToCos = true,
    downscaleFreqShift = 0,
    maxPeriod = 10000,
    device = 'cpu',
    dtype = 'f32',
  } = options;
  return new Tensor(
    nativeCore().timestepSinusoid(
      timesteps,
      channels,
      flipSinToCos,
      downscaleFreqShift,
      maxPeriod,
      device,
      dtype,
    ),
  );
}

/** AdaLN in one pass: LayerNorm(x) without affine, then x·(1 + scale) + shift (vectors [B, D] or [D]). */
export function layerNormModulate(
  x: Tensor,
  shift: Tensor,
  scale: Tensor,
  options: { eps?: number; out?: Tensor } = {},
): Tensor {
  const { eps = 1e-6, out } = options;
  return wrap(nativeCore().layerNormModulate(x.handle, shift.handle, scale.handle, eps, handleOf(out)), out);
}

export interface RmsNormRopeOptions {
  weight?: Tensor;
  /** Rotary tables [outSeq, D] (both or neither); row outOffset + s rotates token s of x. */
  cos?: Tensor;
  sin?: Tensor;
  eps?: number;
  /** [B, outSeq, H, D]: x's tokens are written at [outOffset, outOffset + S). Default: a new [B, S, H, D]. */
  out?: Tensor;
  outOffset?: number;
}

/**
 * Per-head RMSNorm of x [B, S, H, D], then RoPE, written straight into its place in the joint sequence:
 * the query/key path of Flux and SD3.5 without the intermediate tensors or the concat.
 */
export function rmsNormRope(x: Tensor, options: RmsNormRopeOptions = {}): Tensor {
  const { weight, cos, sin, eps = 1e-6, out, outOffset = 0 } = options;
  return wrap(
    nativeCore().rmsNormRope(
      x.handle,
      handleOf(weight),
      handleOf(cos),
      handleOf(sin),
      eps,
      handleOf(out),
      outOffset,
    ),
    out,
  );
}

/** GELU-tanh(x·wᵀ + b): on 'cuda' one cuBLASLt GEMM with the bias and GELU in its epilogue. */
export function linearGelu(x: Tensor, w: Tensor, b?: Tensor, out?: Tensor): Tensor {
  return wrap(nativeCore().linearGelu(x.handle, w.handle, handleOf(b), handleOf(out)), out);
}
