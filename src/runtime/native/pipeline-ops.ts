/**
 * The kernels the prompt-to-image pipeline adds (native/src/kernels/pipeline_kernels.h) and torch's CPU
 * normal sampling (native/src/random/torch_generator.h). CPU only for now: on 'cuda' tensors they fail
 * saying so. Same conventions as ops.ts (any input dtype/layout, contiguous f32 results, optional `out`).
 */
import { type DType, loadNativeAddon, type NativeTensor } from './binding.js';
import { Tensor } from './tensor.js';

type T = NativeTensor;
type Opt = NativeTensor | undefined;

/** Which of torch's float32 normal kernels to reproduce: its AVX2 one or its plain C one. */
export type TorchNormalPath = 'avx2' | 'scalar';

interface PipelineCore {
  geluErf(x: T, out: Opt): T;
  quickGelu(x: T, out: Opt): T;
  groupNormStats(x: T, groups: number): T;
  groupNormApply(x: T, groups: number, mean: T, rstd: T, w: Opt, b: Opt, out: Opt): T;
  torchRandn(seed: number, shape: readonly number[], dtype: DType, path: TorchNormalPath | undefined): T;
  torchNormalPath(): TorchNormalPath;
}

let cached: PipelineCore | undefined;

function core(): PipelineCore {
  cached ??= loadNativeAddon<PipelineCore>(
    'pipeline kernels (native/src/kernels/pipeline_bindings.cc)',
    (loaded) => typeof loaded.torchRandn === 'function' && typeof loaded.groupNormApply === 'function',
  );
  return cached;
}

function wrap(result: NativeTensor, out: Tensor | undefined): Tensor {
  return out ?? new Tensor(result);
}

/** GELU with the exact erf: 0.5·x·(1 + erf(x/√2)) (transformers' "gelu", CLIP-G). */
export function geluErf(x: Tensor, out?: Tensor): Tensor {
  return wrap(core().geluErf(x.handle, out?.handle), out);
}

/** x·σ(1.702·x) (transformers' "quick_gelu", CLIP-L). */
export function quickGelu(x: Tensor, out?: Tensor): Tensor {
  return wrap(core().quickGelu(x.handle, out?.handle), out);
}

/** Per (sample, group) of x [N, C, ...]: [N, G, 2] = (mean, sum of squared deviations), computed in double. */
export function groupNormStats(x: Tensor, groups: number): Tensor {
  return new Tensor(core().groupNormStats(x.handle, groups));
}

/** GroupNorm with given statistics: (x − mean)·rstd·weight + bias, mean and rstd [N, G]. */
export function groupNormApply(
  x: Tensor,
  groups: number,
  stats: { mean: Tensor; rstd: Tensor },
  options: { weight?: Tensor; bias?: Tensor; out?: Tensor } = {},
): Tensor {
  const { weight, bias, out } = options;
  return wrap(
    core().groupNormApply(
      x.handle,
      groups,
      stats.mean.handle,
      stats.rstd.handle,
      weight?.handle,
      bias?.handle,
      out?.handle,
    ),
    out,
  );
}

/**
 * torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed), dtype) bit for bit (the seed's low
 * 32 bits count, as in torch). `path` defaults to the kernel torch uses on this CPU (see torchNormalPath).
 */
export function torchRandn(
  seed: number,
  shape: readonly number[],
  dtype: DType = 'f32',
  path?: TorchNormalPath,
): Tensor {
  return new Tensor(core().torchRandn(seed, shape, dtype, path));
}

/**
 * The float32 normal kernel torch picks on this CPU: its AVX2 kernel on CPUs with AVX2 and FMA but without
 * AVX-512, otherwise the plain one; ATEN_CPU_CAPABILITY overrides it as it does torch's.
 */
export function torchNormalPath(): TorchNormalPath {
  return core().torchNormalPath();
}
