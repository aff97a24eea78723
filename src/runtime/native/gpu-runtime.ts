/**
 * What a GPU worker needs before it binds a device: a CUDA 13 driver (r580+), the GPUs of the plan, and
 * the NVIDIA libraries the GPU path loads at run time (cuBLAS/cuBLASLt for GEMMs, cuDNN for attention,
 * NCCL between ranks). checkGpuRuntime reports each piece; requireGpuRuntime ends the start-up with one
 * line naming the first missing one. Where each library is looked up: README.md, "GPUs".
 */
import { type CudaLibraries, type CudaStatus, cudaLibraries, cudaStatus, type LibraryProbe } from './cuda.js';

/** libtessera_cuda.so is built by nvcc 13.0: the driver must support CUDA 13.0 (1000·major + 10·minor). */
export const MIN_DRIVER_CUDA_VERSION = 13000;
/** The cuDNN frontend calls assume the cuDNN 9 ABI. */
const CUDNN_MAJOR = 9;

export interface GpuRequirement {
  /** GPUs this process must see: the pod's local ranks, or the bound index + 1. */
  devices: number;
  /** NCCL joins the ranks; a one-rank group can do without. Default true. */
  nccl?: boolean;
  /** 'native' accepts the backend's own attention kernel where cuDNN is missing. Default 'cudnn'. */
  attention?: 'cudnn' | 'native';
}

export interface GpuRuntimeCheck {
  ok: boolean;
  /** The first missing piece, with what to do about it; absent when ok. */
  problem?: string;
  /** One line per piece that was checked, for the start-up log. */
  found: string[];
  status: CudaStatus;
  libraries?: CudaLibraries;
}

export class GpuRuntimeError extends Error {
  override readonly name = 'GpuRuntimeError';
}

/** 130100 → '13.1.0' (cuBLAS, cuDNN and NCCL ≥ 2.9 all count major·10000 + minor·100 + patch). */
function libraryVersion(v: number): string {
  return `${Math.floor(v / 10000)}.${Math.floor((v % 10000) / 100)}.${v % 100}`;
}

/** 13000 → '13.0'. */
function cudaVersion(v: number): string {
  return `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}`;
}

function describe(name: string, probe: LibraryProbe, version: (v: number) => string): string {
  return probe.found ? `${name} ${version(probe.version)}: ${probe.path}` : `${name}: missing`;
}

/** Checks every piece in the order a pod would fail on them; never throws for a missing piece. */
export function checkGpuRuntime(requirement: GpuRequirement): GpuRuntimeCheck {
  const status = cudaStatus();
  const found: string[] = [`CUDA backend: ${status.library}`];
  if (!status.available) {
    return { ok: false, problem: `CUDA is not usable: ${status.reason ?? 'unknown reason'}`, found, status };
  }
  const driverVersion = status.driverVersion ?? 0;
  found.push(`driver: supports CUDA ${cudaVersion(driverVersion)}`);
  if (driverVersion < MIN_DRIVER_CUDA_VERSION) {
    return {
      ok: false,
      problem: `the NVIDIA driver supports CUDA ${cudaVersion(driverVersion)}, Tessera's CUDA backend needs ${cudaVersion(MIN_DRIVER_CUDA_VERSION)} (driver r580 or newer)`,
      found,
      status,
    };
  }
  found.push(
    `GPUs: ${status.devices.map((d) => `${d.index}: ${d.name} (sm_${d.computeCapability.replace('.', '')})`).join(', ')}`,
  );
  if (status.devices.length < requirement.devices) {
    const visible = process.env.CUDA_VISIBLE_DEVICES;
    return {
      ok: false,
      problem: `${status.devices.length} GPU(s) visible${visible !== undefined ? ` (CUDA_VISIBLE_DEVICES=${visible})` : ''}, the plan needs ${requirement.devices} in this pod`,
      found,
      status,
    };
  }
  const libraries = cudaLibraries();
  found.push(describe('driver library', libraries.driver, cudaVersion));
  found.push(describe('cuBLAS', libraries.cublas, libraryVersion));
  found.push(describe('cuBLASLt', libraries.cublasLt, libraryVersion));
  found.push(describe('cuDNN', libraries.cudnn, libraryVersion));
  found.push(describe('NCCL', libraries.nccl, libraryVersion));
  const fail = (problem: string): GpuRuntimeCheck => ({ ok: false, problem, found, status, libraries });
  for (const [name, probe] of [
    ['cuBLAS', libraries.cublas],
    ['cuBLASLt', libraries.cublasLt],
  ] as const) {
    if (!probe.found) return fail(`${name} is missing: ${probe.error}`);
  }
  if ((requirement.attention ?? 'cudnn') === 'cudnn') {
    const { cudnn } = libraries;
    if (!cudnn.found) {
      return fail(
        `cuDNN is missing: ${cudnn.error} (TESSERA_ATTENTION=native runs the slower built-in attention instead)`,
      );
    }
    if (Math.floor(cudnn.version / 10000) !== CUDNN_MAJOR) {
      return fail(
        `${cudnn.path} is cuDNN ${libraryVersion(cudnn.version)}; Tessera needs cuDNN ${CUDNN_MAJOR}.x`,
      );
    }
  }
  if ((requirement.nccl ?? true) && !libraries.nccl.found)
    return fail(`NCCL is missing: ${libraries.nccl.error}`);
  return { ok: true, found, status, libraries };
}

/**
 * The worker's start-up gate for a GPU plan: returns the check when everything is there, else throws a
 * GpuRuntimeError whose message is one line naming the first missing piece.
 */
export function requireGpuRuntime(requirement: GpuRequirement): GpuRuntimeCheck {
  const check = checkGpuRuntime(requirement);
  if (!check.ok) throw new GpuRuntimeError(`GPU runtime unusable: ${check.problem}`);
  return check;
}
