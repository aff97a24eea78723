/**
 * The CUDA side of the addon as TypeScript sees it (native/src/cuda): whether the backend can run here
 * and why not, which NVIDIA libraries were found where, binding this process to a GPU, and the count
 * of host↔device copies that the denoising loop is held to.
 */
import { loadNativeAddon } from './binding.js';

export interface CudaDevice {
  index: number;
  name: string;
  totalMemoryBytes: number;
  computeCapability: string;
  multiprocessors: number;
}

export interface CudaStatus {
  available: boolean;
  /** Why CUDA cannot be used here; null when available. */
  reason: string | null;
  /** Where the addon looked for libtessera_cuda.so. */
  library: string;
  devices: CudaDevice[];
  /** CUDA runtime the backend was built with and the CUDA version the driver supports: 1000·major + 10·minor. */
  runtimeVersion?: number;
  driverVersion?: number;
}

/** One library as the dynamic loader found it, or why it could not. */
export type LibraryProbe =
  | {
      found: true;
      path: string /** the library's own version number (cuDNN 9.19.0 → 91900) */;
      version: number;
    }
  | { found: false; error: string };

export interface CudaLibraries {
  /** libcuda.so.1; version = the CUDA version the driver supports (13000 = 13.0). */
  driver: LibraryProbe;
  cublas: LibraryProbe;
  cublasLt: LibraryProbe;
  cudnn: LibraryProbe;
  nccl: LibraryProbe;
}

export interface TransferCounts {
  hostToDevice: number;
  hostToDeviceBytes: number;
  deviceToHost: number;
  deviceToHostBytes: number;
}

interface CudaBinding {
  cudaStatus(): CudaStatus;
  cudaLibraries(): CudaLibraries;
  bindCudaDevice(index: number): void;
  cudaTransferCounts(): TransferCounts;
  resetCudaTransferCounts(): void;
  cudaAttentionFallback(): string;
  cudaSynchronize(): void;
}

let cached: CudaBinding | undefined;

function binding(): CudaBinding {
  cached ??= loadNativeAddon<CudaBinding>(
    'cuda part (built without native/cuda.gypi?)',
    (loaded) => typeof loaded.cudaLibraries === 'function' && typeof loaded.cudaStatus === 'function',
  );
  return cached;
}

/** Whether 'cuda' tensors can be used here; never throws for a missing GPU, driver or library. */
export function cudaStatus(): CudaStatus {
  return binding().cudaStatus();
}

/** Loads (once) and reports the NVIDIA libraries the GPU path uses; absent ones say why. */
export function cudaLibraries(): CudaLibraries {
  return binding().cudaLibraries();
}

/**
 * Makes GPU `index` the device of this process's kernels and tensors. Call it before the first 'cuda'
 * tensor and before any NCCL communicator (whose cudaDevice must be the same index).
 */
export function bindCudaDevice(index: number): void {
  binding().bindCudaDevice(index);
}

/** Host↔device copies made by this process since the last reset (every one, whatever caused it). */
export function transferCounts(): TransferCounts {
  return binding().cudaTransferCounts();
}

export function resetTransferCounts(): void {
  binding().resetCudaTransferCounts();
}

/**
 * Waits until every kernel queued so far has run, and throws what any of them raised: kernels are
 * asynchronous, so timings and error checks need this point.
 */
export function synchronizeCuda(): void {
  binding().cudaSynchronize();
}

/** Why the last GPU attention did not run through cuDNN's flash attention ('' when it did). */
export function attentionFallbackReason(): string {
  return binding().cudaAttentionFallback();
}
