/**
 * The cuda part of the native addon as the tests see it: where the addon and libtessera_cuda.so are,
 * and the types of the two exports (cudaStatus, cudaKernelOnHost). Loads the built .node directly so
 * these tests do not depend on the runtime's TypeScript wrapper.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CudaStatus } from '../../src/runtime/native/cuda.js';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Same rule as src/runtime/native/binding.ts: TESSERA_NATIVE_ADDON, else the node-gyp build. */
export const addonPath =
  process.env.TESSERA_NATIVE_ADDON ?? join(repoRoot, 'native', 'build', 'Release', 'tessera_native.node');
export const cudaLibraryPath = join(repoRoot, 'native', 'cuda', 'build', 'libtessera_cuda.so');
export const cudaHeaderPath = join(repoRoot, 'native', 'cuda', 'include', 'tessera_cuda.h');

export type { CudaDevice, CudaStatus } from '../../src/runtime/native/cuda.js';

/** Float32Array = f32 storage; Uint16Array = bf16 bit patterns; an empty array = an absent argument. */
export type HostBuffer = Float32Array | Uint16Array;

export interface CudaAddon {
  cudaStatus(): CudaStatus;
  cudaKernelOnHost(op: string, buffers: HostBuffer[], params: number[]): void;
}

/** The addon, or a sentence saying why it cannot be loaded. */
export function loadCudaAddon(): CudaAddon | string {
  if (!existsSync(addonPath)) return `the native addon is not built (${addonPath} is missing)`;
  const require = createRequire(import.meta.url);
  const addon = require(addonPath) as Partial<CudaAddon>;
  if (typeof addon.cudaStatus !== 'function' || typeof addon.cudaKernelOnHost !== 'function') {
    throw new Error(`${addonPath} has no cudaStatus/cudaKernelOnHost: is InitCuda called in addon.cc?`);
  }
  return addon as CudaAddon;
}
