/**
 * The one contract between the C++ core (native/src/tensor, kernels, safetensors) and TypeScript: the
 * shape of what the addon exports. Everything else in src/runtime/native builds on these declarations.
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { log } from '../../shared/log.js';

export type DType = 'f32' | 'bf16' | 'f16';
export type Device = 'cpu' | 'cuda';

/** A tensor object owned by the addon (native/src/tensor/tensor_wrap.cc). */
export interface NativeTensor {
  readonly shape: number[];
  readonly strides: number[];
  readonly dtype: DType;
  readonly device: Device;
  readonly offset: number;
  readonly isContiguous: boolean;
  readonly released: boolean;
  release(): void;
  data(): Float32Array | Uint16Array;
  narrow(axis: number, start: number, length: number): NativeTensor;
  permute(order: readonly number[]): NativeTensor;
  view(shape: readonly number[]): NativeTensor;
  contiguous(): NativeTensor;
  to(dtype: DType): NativeTensor;
  toDevice(device: Device): NativeTensor;
  clone(): NativeTensor;
  copyFrom(source: NativeTensor): NativeTensor;
  sharesStorage(other: NativeTensor): boolean;
}

export interface NativeTensorEntry {
  name: string;
  /** As written in the file: 'F32', 'BF16', 'F16', 'I64', ... */
  dtype: string;
  shape: number[];
  dataOffsets: [number, number];
}

export interface NativeSafetensorsFile {
  readonly path: string;
  tensors(): NativeTensorEntry[];
  metadata(): Record<string, string>;
  read(name: string, dtype?: DType): NativeTensor;
  close(): void;
}

/** What the CPU kernel dispatcher chose (native/src/kernels/cpu/dispatch.h) and why. */
export interface CpuKernelInfo {
  /** 'avx512' | 'avx2' | 'baseline' | 'openblas' */
  kernel: string;
  reason: string;
  /** The micro-kernel's register tile and instruction set, e.g. '4x24 (avx2)'. */
  microTile: string;
  /** Every choice this CPU can run, best first (TESSERA_CPU_KERNELS accepts these and 'auto'). */
  runnable: string[];
  /** The choices it cannot run, each with what it needs. */
  unavailable: string[];
  cpu: { vendor: string; brand: string; family: number; model: number; features: string };
  /**
   * Present once OpenBLAS is loaded: the core it runs, the one asked for (OPENBLAS_CORETYPE by hand, else
   * the one CPUID names), the one CPUID names, its build config.
   */
  openblas?: { core: string; requested: string; cpuidCore: string; config: string };
}

/** What a device's kernels take as they are. */
export interface BackendCapabilities {
  /** Weight dtypes its GEMMs read directly (bf16/f16 widened while packing): a loader keeps these. */
  weightDtypes: DType[];
}

type T = NativeTensor;
type Opt = NativeTensor | undefined;

export interface NativeCore {
  empty(shape: readonly number[], dtype?: DType, device?: Device): T;
  zeros(shape: readonly number[], dtype?: DType, device?: Device): T;
  fromArray(array: Float32Array | Uint16Array, shape: readonly number[], dtype?: DType): T;
  numThreads(): number;
  setNumThreads(threads: number): void;
  linear(x: T, w: T, b: Opt, out: Opt): T;
  matmul(a: T, b: T, transposeB: boolean, out: Opt): T;
  layerNorm(x: T, w: Opt, b: Opt, eps: number, out: Opt): T;
  rmsNorm(x: T, w: Opt, eps: number, out: Opt): T;
  groupNorm(x: T, groups: number, w: Opt, b: Opt, eps: number, out: Opt): T;
  gelu(x: T, out: Opt): T;
  silu(x: T, out: Opt): T;
  softmax(x: T, out: Opt): T;
  attention(q: T, k: T, v: T, scale: number, out: Opt, lse: Opt): T;
  rope(x: T, cos: T, sin: T, out: Opt): T;
  modulate(x: T, shift: T, scale: T, out: Opt): T;
  gatedResidual(x: T, gate: T, y: T, out: Opt): T;
  add(a: T, b: T, out: Opt): T;
  sub(a: T, b: T, out: Opt): T;
  mul(a: T, b: T, out: Opt): T;
  div(a: T, b: T, out: Opt): T;
  affine(x: T, mul: number, add: number, out: Opt): T;
  concat(parts: readonly T[], axis: number): T;
  conv2d(x: T, w: T, b: Opt, strideH: number, strideW: number, padH: number, padW: number, out: Opt): T;
  upsampleNearest(x: T, factorH: number, factorW: number, out: Opt): T;
  cpuKernels(): CpuKernelInfo;
  gemmCeiling(seconds?: number): number;
  backendCapabilities(device: Device): BackendCapabilities | undefined;
  scaledAdd(x: T, y: T, alpha: number, out: Opt): T;
  guidanceCombine(uncond: T, cond: T, scale: number, out: Opt): T;
  lseMerge(out: T, lse: T, blockOut: T, blockLse: T): void;
  timestepSinusoid(
    timesteps: readonly number[],
    channels: number,
    flipSinToCos: boolean,
    downscaleFreqShift: number,
    maxPeriod: number,
    device: Device,
    dtype: DType,
  ): T;
  layerNormModulate(x: T, shift: T, scale: T, eps: number, out: Opt): T;
  rmsNormRope(x: T, weight: Opt, cos: Opt, sin: Opt, eps: number, out: Opt, outOffset: number): T;
  linearGelu(x: T, w: T, b: Opt, out: Opt): T;
  SafetensorsFile: new (path: string) => NativeSafetensorsFile;
}

/** Where the addon is: TESSERA_NATIVE_ADDON, else native/build/Release (same depth from src/ and dist/). */
export function nativeAddonPath(): string {
  return (
    process.env.TESSERA_NATIVE_ADDON ??
    resolve(import.meta.dirname, '../../../native/build/Release/tessera_native.node')
  );
}

/**
 * Requires the addon and checks that it has the part a caller needs (`complete`); a missing build fails
 * with what to run, a build without that part says which (`missing`). Node caches the module, so the
 * tensor core and the comm part share one load.
 */
export function loadNativeAddon<T>(missing: string, complete: (loaded: Partial<T>) => boolean): T {
  const path = nativeAddonPath();
  const require = createRequire(import.meta.url);
  let loaded: Partial<T>;
  try {
    loaded = require(path) as Partial<T>;
  } catch (err) {
    throw new Error(`cannot load the native addon at ${path}: run ./scripts/setup to build it`, {
      cause: err,
    });
  }
  if (!complete(loaded)) throw new Error(`the native addon at ${path} has no ${missing}`);
  return loaded as T;
}

let cached: NativeCore | undefined;

/**
 * Loads the addon's tensor core once, and logs once which CPU kernels it chose and why (a CPU without
 * AVX2, or an OpenBLAS that runs another core than the one named from CPUID, is a warning: the CPU path
 * would be slow). An invalid TESSERA_CPU_KERNELS fails here, naming the valid choices.
 */
export function nativeCore(): NativeCore {
  if (cached) return cached;
  const core = loadNativeAddon<NativeCore>(
    'tensor core (built without native/core.gypi?)',
    (loaded) => typeof loaded.linear === 'function' && typeof loaded.SafetensorsFile === 'function',
  );
  const info = core.cpuKernels();
  const logger = log.child({ component: 'cpu-kernels' });
  const fields = { kernel: info.kernel, reason: info.reason, cpu: info.cpu, openblas: info.openblas };
  // An OpenBLAS core other than the one CPUID names (set by hand, or refused by OpenBLAS) is slower.
  const slowBlas =
    info.openblas !== undefined && info.openblas.core.toLowerCase() !== info.openblas.cpuidCore.toLowerCase();
  if (info.kernel === 'baseline' || slowBlas) {
    logger.warn(fields, 'CPU kernels chosen: expect a slow CPU path');
  } else {
    logger.info(fields, 'CPU kernels chosen');
  }
  cached = core;
  return cached;
}
