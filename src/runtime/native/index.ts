/** The native CPU core as TypeScript: tensors, kernels, safetensors checkpoints. */
export type { BackendCapabilities, CpuKernelInfo, Device, DType } from './binding.js';
export { nativeAddonPath } from './binding.js';
export {
  attentionFallbackReason,
  bindCudaDevice,
  type CudaLibraries,
  type CudaStatus,
  cudaLibraries,
  cudaStatus,
  resetTransferCounts,
  synchronizeCuda,
  type TransferCounts,
  transferCounts,
} from './cuda.js';
export {
  checkGpuRuntime,
  type GpuRequirement,
  type GpuRuntimeCheck,
  GpuRuntimeError,
  requireGpuRuntime,
} from './gpu-runtime.js';
export * as ops from './ops.js';
export * as pipelineOps from './pipeline-ops.js';
export { Checkpoint, type ReadOptions, SafetensorsFile, type TensorInfo } from './safetensors.js';
export { Tensor } from './tensor.js';
