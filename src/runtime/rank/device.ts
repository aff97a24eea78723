/**
 * Which device a rank computes on and which transport its communicators use. A plan asks for one GPU per
 * rank (`cuda:<local rank>`, NCCL) unless it says `device: cpu` (gloo); `--device` on `tessera worker` or
 * `tessera denoise` overrides it: `cpu` runs the same plan on CPU, `cuda:N` puts every local rank on GPU
 * N (NCCL refuses two ranks on one device, so those ranks talk over gloo, staged through the host).
 *
 * A rank is bound to its GPU through CUDA_VISIBLE_DEVICES, set in the worker before anything touches
 * CUDA (the addon initialises CUDA lazily, on first use): from then on every thread of the process —
 * kernels, copies, cuBLAS, cuDNN, NCCL — sees that one GPU, as device 0, which the bootstrap then binds
 * the native layer to (bindCudaDevice) and gives NCCL as its cudaDevice.
 */
import { type Plan, type PlanDevice, worldSize } from '../../shared/plan/index.js';
import type { Backend } from '../comm/index.js';
import type { GpuRequirement } from '../native/index.js';
import { EnvironmentError } from './env-config.js';

/** What `--device` asks for: the plan's choice, CPU, one GPU per local rank, or one GPU shared by all. */
export type DeviceRequest =
  | { kind: 'plan' }
  | { kind: 'cpu' }
  | { kind: 'cuda' }
  | { kind: 'cuda-shared'; gpu: number };

export type RankDevice =
  | { kind: 'cpu'; label: 'cpu' }
  | {
      kind: 'cuda';
      /** The GPU of the pod this rank runs on (an index into the pod's visible GPUs). */
      gpu: number;
      /** Whether other ranks of this pod share that GPU. */
      shared: boolean;
      /** `cuda:<gpu>`, for logs and messages. */
      label: string;
    };

export class DeviceFlagError extends Error {
  override readonly name = 'DeviceFlagError';
}

export const DEVICE_USAGE =
  '  --device cpu|cuda|cuda:N               cpu: run the plan on CPU (gloo); cuda: one GPU per rank (NCCL);\n' +
  "                                         cuda:N: every local rank on GPU N (gloo); default: the plan's\n";

/** Parses a `--device` value (undefined: the plan decides). */
export function parseDeviceFlag(value: string | undefined): DeviceRequest {
  if (value === undefined) return { kind: 'plan' };
  if (value === 'cpu') return { kind: 'cpu' };
  if (value === 'cuda') return { kind: 'cuda' };
  const match = /^cuda:(\d+)$/.exec(value);
  if (match) return { kind: 'cuda-shared', gpu: Number(match[1]) };
  throw new DeviceFlagError(`--device must be cpu, cuda or cuda:N, got '${value}'`);
}

/** The `--device` value that asks for `request` again (the launcher passes it on to its workers). */
export function deviceFlag(request: DeviceRequest): string[] {
  switch (request.kind) {
    case 'plan':
      return [];
    case 'cuda-shared':
      return ['--device', `cuda:${request.gpu}`];
    default:
      return ['--device', request.kind];
  }
}

export function planDevice(plan: Plan): PlanDevice {
  return plan.device ?? 'cuda';
}

/** The device of the rank at `localRank` among `ranksOnPod` ranks of its pod. */
export function rankDevice(
  request: DeviceRequest,
  plan: Plan,
  localRank: number,
  ranksOnPod: number,
): RankDevice {
  const kind = request.kind === 'plan' ? planDevice(plan) : request.kind;
  if (kind === 'cpu') return { kind: 'cpu', label: 'cpu' };
  if (request.kind === 'cuda-shared') {
    return { kind: 'cuda', gpu: request.gpu, shared: ranksOnPod > 1, label: `cuda:${request.gpu}` };
  }
  return { kind: 'cuda', gpu: localRank, shared: false, label: `cuda:${localRank}` };
}

/** NCCL when every rank has a GPU of its own; gloo on CPU and on a GPU shared by several ranks. */
export function backendFor(device: RankDevice): Backend {
  return device.kind === 'cuda' && !device.shared ? 'nccl' : 'gloo';
}

/** How many GPUs a pod needs for `ranksOnPod` ranks on this request (0 on CPU). */
export function gpusNeeded(request: DeviceRequest, plan: Plan, ranksOnPod: number): number {
  const kind = request.kind === 'plan' ? planDevice(plan) : request.kind;
  if (kind === 'cpu') return 0;
  return request.kind === 'cuda-shared' ? request.gpu + 1 : ranksOnPod;
}

/**
 * What the pod's GPU path must find (native/gpu-runtime.ts): its GPUs, and NCCL when ranks of a group
 * of several each have a GPU of their own.
 */
export function podGpuRequirement(request: DeviceRequest, plan: Plan, ranksOnPod: number): GpuRequirement {
  return {
    devices: gpusNeeded(request, plan, ranksOnPod),
    nccl: request.kind !== 'cuda-shared' && worldSize(plan.degrees) > 1,
  };
}

/** What one rank's GPU path must find once bound: its GPU, and NCCL when it talks over NCCL. */
export function rankGpuRequirement(device: RankDevice, plan: Plan): GpuRequirement {
  if (device.kind !== 'cuda') return { devices: 0 };
  return { devices: 1, nccl: backendFor(device) === 'nccl' && worldSize(plan.degrees) > 1 };
}

const VISIBLE = 'CUDA_VISIBLE_DEVICES';

/**
 * Narrows CUDA_VISIBLE_DEVICES in `env` to the rank's GPU: the pod's own list when it has one (the
 * device plugin may name GPUs by UUID), else the GPU's index. Call before anything touches CUDA.
 */
export function bindDevice(device: RankDevice, env: NodeJS.ProcessEnv): void {
  if (device.kind !== 'cuda') return;
  const value = env[VISIBLE];
  const listed = value
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (value !== undefined && listed?.length === 0) {
    throw new EnvironmentError(`${device.label}: ${VISIBLE} is set but empty, so no GPU is visible`);
  }
  if (listed && listed.length > 0) {
    const entry = listed[device.gpu];
    if (entry === undefined) {
      throw new EnvironmentError(
        `${device.label} is not among the ${listed.length} GPU(s) ${VISIBLE}=${env[VISIBLE]} makes visible`,
      );
    }
    env[VISIBLE] = entry;
  } else {
    env[VISIBLE] = String(device.gpu);
  }
}
