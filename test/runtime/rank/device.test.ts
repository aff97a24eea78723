/**
 * The rank bootstrap's device choice: the plan asks for one GPU per rank unless it says cpu; --device
 * overrides it; the backend follows the device (NCCL only where every rank has a GPU of its own); a rank
 * is bound to its GPU through CUDA_VISIBLE_DEVICES; a missing GPU is reported as what is missing.
 */
import { describe, expect, it } from 'vitest';
import { localPlan } from '../../../src/runtime/launcher/local-group.js';
import type { GpuRequirement } from '../../../src/runtime/native/index.js';
import {
  backendFor,
  bindDevice,
  deviceFlag,
  gpusNeeded,
  parseDeviceFlag,
  podGpuRequirement,
  rankDevice,
  rankGpuRequirement,
} from '../../../src/runtime/rank/device.js';
import { EnvironmentError } from '../../../src/runtime/rank/env-config.js';
import { DeviceUnavailableError, requireGpus } from '../../../src/runtime/rank/gpu-check.js';
import type { Plan } from '../../../src/shared/plan/index.js';
import { FLUX_FIXTURE_FACTS } from '../parallel/denoise-fixtures.js';

const model = FLUX_FIXTURE_FACTS;
const degrees = { dataParallel: 1, cfg: 1, pipefusion: 1, ring: 1, ulysses: 2 };
const pipeline = { patches: 1, warmupSteps: 1 };
/** What the operator writes: no device field, so one GPU per rank. */
const gpuPlan: Plan = (() => {
  const { device: _, ...plan } = localPlan(degrees, pipeline, model, 'cuda');
  return plan;
})();
const cpuPlan = localPlan(degrees, pipeline, model);

describe('device choice', () => {
  it('follows the plan: a GPU per rank (NCCL) unless the plan says cpu (gloo)', () => {
    const plan = parseDeviceFlag(undefined);
    const gpu = rankDevice(plan, gpuPlan, 1, 2);
    expect(gpu).toEqual({ kind: 'cuda', gpu: 1, shared: false, label: 'cuda:1' });
    expect(backendFor(gpu)).toBe('nccl');
    const cpu = rankDevice(plan, cpuPlan, 1, 2);
    expect(cpu).toEqual({ kind: 'cpu', label: 'cpu' });
    expect(backendFor(cpu)).toBe('gloo');
    expect(gpusNeeded(plan, gpuPlan, 2)).toBe(2);
    expect(gpusNeeded(plan, cpuPlan, 2)).toBe(0);
  });

  it('--device cpu runs a GPU plan on CPU; cuda:N shares one GPU over gloo', () => {
    expect(rankDevice(parseDeviceFlag('cpu'), gpuPlan, 0, 2).kind).toBe('cpu');
    expect(gpusNeeded(parseDeviceFlag('cpu'), gpuPlan, 2)).toBe(0);
    const shared = rankDevice(parseDeviceFlag('cuda:0'), gpuPlan, 1, 2);
    expect(shared).toEqual({ kind: 'cuda', gpu: 0, shared: true, label: 'cuda:0' });
    expect(backendFor(shared)).toBe('gloo');
    // One rank alone on its GPU keeps NCCL.
    expect(backendFor(rankDevice(parseDeviceFlag('cuda:3'), gpuPlan, 0, 1))).toBe('nccl');
    expect(gpusNeeded(parseDeviceFlag('cuda:3'), gpuPlan, 2)).toBe(4);
    expect(rankDevice(parseDeviceFlag('cuda'), cpuPlan, 1, 2).label).toBe('cuda:1');
  });

  it('passes the request on to the workers unchanged', () => {
    for (const flag of [undefined, 'cpu', 'cuda', 'cuda:2']) {
      const request = parseDeviceFlag(flag);
      const again = deviceFlag(request);
      expect(parseDeviceFlag(again[1])).toEqual(request);
    }
  });

  it('names a bad --device value', () => {
    expect(() => parseDeviceFlag('gpu')).toThrow("--device must be cpu, cuda or cuda:N, got 'gpu'");
    expect(() => parseDeviceFlag('cuda:x')).toThrow(/cuda:N/);
  });
});

describe('binding a rank to its GPU', () => {
  it("narrows CUDA_VISIBLE_DEVICES to the rank's entry of the pod's list, or to its index", () => {
    const env: NodeJS.ProcessEnv = { CUDA_VISIBLE_DEVICES: 'GPU-a, GPU-b,GPU-c' };
    bindDevice({ kind: 'cuda', gpu: 1, shared: false, label: 'cuda:1' }, env);
    expect(env.CUDA_VISIBLE_DEVICES).toBe('GPU-b');
    const bare: NodeJS.ProcessEnv = {};
    bindDevice({ kind: 'cuda', gpu: 3, shared: false, label: 'cuda:3' }, bare);
    expect(bare.CUDA_VISIBLE_DEVICES).toBe('3');
    const cpu: NodeJS.ProcessEnv = { CUDA_VISIBLE_DEVICES: '0,1' };
    bindDevice({ kind: 'cpu', label: 'cpu' }, cpu);
    expect(cpu.CUDA_VISIBLE_DEVICES).toBe('0,1');
  });

  it('refuses a GPU the pod cannot see, and never unhides GPUs hidden by an empty list', () => {
    const two = { CUDA_VISIBLE_DEVICES: '0,1' };
    expect(() => bindDevice({ kind: 'cuda', gpu: 2, shared: false, label: 'cuda:2' }, two)).toThrow(
      'cuda:2 is not among the 2 GPU(s) CUDA_VISIBLE_DEVICES=0,1 makes visible',
    );
    const none = { CUDA_VISIBLE_DEVICES: '' };
    expect(() => bindDevice({ kind: 'cuda', gpu: 0, shared: false, label: 'cuda:0' }, none)).toThrow(
      EnvironmentError,
    );
    expect(none.CUDA_VISIBLE_DEVICES).toBe('');
  });
});

describe('GPU check', () => {
  it("asks for the pod's GPUs, and NCCL only where ranks of a group each have their own", () => {
    expect(podGpuRequirement(parseDeviceFlag(undefined), gpuPlan, 2)).toEqual({ devices: 2, nccl: true });
    expect(podGpuRequirement(parseDeviceFlag('cuda:1'), gpuPlan, 2)).toEqual({ devices: 2, nccl: false });
    expect(podGpuRequirement(parseDeviceFlag('cpu'), gpuPlan, 2).devices).toBe(0);
    const own = rankDevice(parseDeviceFlag(undefined), gpuPlan, 1, 2);
    expect(rankGpuRequirement(own, gpuPlan)).toEqual({ devices: 1, nccl: true });
    const shared = rankDevice(parseDeviceFlag('cuda:0'), gpuPlan, 1, 2);
    expect(rankGpuRequirement(shared, gpuPlan)).toEqual({ devices: 1, nccl: false });
    expect(rankGpuRequirement({ kind: 'cpu', label: 'cpu' }, gpuPlan).devices).toBe(0);
  });

  it('throws one line that says who asked, what is missing and the way out', () => {
    const asked: GpuRequirement[] = [];
    const check = (r: GpuRequirement) => {
      asked.push(r);
      return { ok: false, problem: 'CUDA is not usable: no CUDA device' };
    };
    const run = () => requireGpus({ devices: 2, nccl: true }, 'the plan (2 rank(s) on pod 0)', check);
    expect(run).toThrow(DeviceUnavailableError);
    expect(run).toThrow(
      'the plan (2 rank(s) on pod 0) asks for 2 GPU(s) but CUDA is not usable: no CUDA device; run it on GPU ' +
        'nodes, or pass --device cpu to run the same plan on CPU',
    );
    expect(asked[0]).toMatchObject({ devices: 2, nccl: true, attention: 'cudnn' });
    expect(() => requireGpus({ devices: 2 }, 'x', () => ({ ok: true }))).not.toThrow();
    expect(() => requireGpus({ devices: 0 }, 'cpu', check)).not.toThrow();
    expect(asked).toHaveLength(2);
  });
});
