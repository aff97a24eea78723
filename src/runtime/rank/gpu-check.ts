/**
 * Whether this machine can run the GPUs a plan asks for, asked before anything heavy (rendezvous,
 * weights): a GPU plan on a machine without them ends the worker at once with one line naming what is
 * missing — the CUDA backend, the driver, the devices, or one of NVIDIA's libraries (the native layer's
 * checkGpuRuntime, in the order a pod would fail on them) — instead of failing later inside a kernel or
 * a collective.
 */
import { checkGpuRuntime, type GpuRequirement, type GpuRuntimeCheck } from '../native/index.js';
import { EnvironmentError } from './env-config.js';

export class DeviceUnavailableError extends EnvironmentError {
  override readonly name = 'DeviceUnavailableError';
}

export type GpuCheck = (requirement: GpuRequirement) => Pick<GpuRuntimeCheck, 'ok' | 'problem'>;

/**
 * Throws DeviceUnavailableError when `requirement.devices` GPUs (and what the GPU path loads with them)
 * are not usable here; `what` says who needs them. Nothing is asked for 0 devices.
 */
export function requireGpus(
  requirement: GpuRequirement,
  what: string,
  check: GpuCheck = checkGpuRuntime,
): void {
  if (requirement.devices === 0) return;
  // TESSERA_ATTENTION=native runs the backend's own attention kernel, so cuDNN is not required.
  const attention = process.env.TESSERA_ATTENTION === 'native' ? 'native' : 'cudnn';
  const result = check({ attention, ...requirement });
  if (!result.ok) {
    throw new DeviceUnavailableError(
      `${what} asks for ${requirement.devices} GPU(s) but ${result.problem ?? 'they are not usable'}; ` +
        'run it on GPU nodes, or pass --device cpu to run the same plan on CPU',
    );
  }
}
