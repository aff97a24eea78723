/**
 * What a device's kernel backend computes with directly, asked before weights are loaded: the dtypes its
 * GEMMs take weights in without a converted copy per call. The loader keeps bf16 checkpoints in bf16
 * where the backend says so and converts them to f32 once at load elsewhere.
 *
 * The addon answers through an optional export `backendCapabilities(device)` → { weightDtypes }; without
 * it, CUDA computes with bf16 and f32 weights (cuBLAS) and the CPU with f32 (its bf16-weight GEMM reports
 * itself through that export when it lands).
 */
import { type Device, type DType, loadNativeAddon } from './binding.js';

export interface BackendCapabilities {
  /** Weight dtypes the backend's GEMMs compute with directly. */
  readonly weightDtypes: readonly DType[];
}

interface CapabilitiesExport {
  backendCapabilities?: (device: Device) => { weightDtypes: string[] };
}

const DEFAULTS: Record<Device, BackendCapabilities> = {
  cpu: { weightDtypes: ['f32'] },
  cuda: { weightDtypes: ['f32', 'bf16'] },
};

const DTYPES: readonly string[] = ['f32', 'bf16', 'f16'];

export function backendCapabilities(device: Device): BackendCapabilities {
  const addon = loadNativeAddon<CapabilitiesExport>('tensor core', () => true);
  const reported = addon.backendCapabilities?.(device);
  if (!reported) return DEFAULTS[device];
  return { weightDtypes: reported.weightDtypes.filter((d): d is DType => DTYPES.includes(d)) };
}
