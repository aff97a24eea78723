/**
 * What a device's kernel backend computes with directly, asked before weights are loaded: the dtypes its
 * GEMMs take weights in without a converted copy per call. The loader keeps narrow checkpoints narrow
 * where the backend says so and converts them to f32 once at load elsewhere.
 *
 * The addon answers for the CPU (f32, bf16 and f16 with our kernels, widened while packing; f32 only
 * under TESSERA_CPU_KERNELS=openblas); CUDA, which it does not answer for, computes with bf16 and f32
 * weights (cuBLAS).
 */
import { type BackendCapabilities, type Device, nativeCore } from './binding.js';

export type { BackendCapabilities } from './binding.js';

const DEFAULTS: Record<Device, BackendCapabilities> = {
  cpu: { weightDtypes: ['f32'] },
  cuda: { weightDtypes: ['f32', 'bf16'] },
};

export function backendCapabilities(device: Device): BackendCapabilities {
  return nativeCore().backendCapabilities(device) ?? DEFAULTS[device];
}
