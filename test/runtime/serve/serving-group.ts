/**
 * A serving group for the serve tests: the operator's pod template (2 pods × 2 ranks, CPU, pp2·u2) run
 * as local processes in pod mode (no request arguments), each pod with its own serving port on 127.0.0.1
 * (other degrees and pod counts on request).
 * Also the JSON request the leader takes, built from the fixture case's inputs.
 */
import { join } from 'node:path';
import { NamedTensors } from '../../../src/runtime/model-loader/index.js';
import { packLatents } from '../../../src/runtime/models/flux/packing.js';
import type { Tensor } from '../../../src/runtime/native/index.js';
import type { Degrees } from '../../../src/shared/plan/index.js';
import { FLUX_TXT7, modelDir, REFERENCE_DIR } from '../parallel/denoise-fixtures.js';
import { freePort } from '../parallel/harness.js';
import { type PodProcess, startPodGroup, workerPids } from '../parallel/pod-group.js';

export const DEGREES = { dataParallel: 1, cfg: 1, pipefusion: 2, ring: 1, ulysses: 2 };

export interface ServingGroup {
  pods: PodProcess[];
  /** http://127.0.0.1:<port> of each pod's serving port. */
  bases: string[];
  leader: string;
}

export interface ServingGroupOptions {
  /** One serving port per pod (default: free ones). */
  ports?: readonly number[];
  env?: Record<string, string>;
  /** Default: DEGREES over 2 pods. */
  degrees?: Degrees;
  pods?: number;
}

export async function startServingGroup(
  dir: string,
  commTimeoutMs: number,
  options: ServingGroupOptions = {},
): Promise<ServingGroup> {
  const pods = options.pods ?? 2;
  const ports = options.ports ?? (await Promise.all(Array.from({ length: pods }, () => freePort())));
  const degrees = options.degrees ?? DEGREES;
  const { pods: processes } = await startPodGroup({
    degrees,
    pipeline: { patches: degrees.pipefusion, warmupSteps: FLUX_TXT7.steps },
    modelPath: modelDir(FLUX_TXT7),
    args: [],
    dir,
    pods,
    env: { TESSERA_COMM_TIMEOUT_MS: String(commTimeoutMs), ...options.env },
    podEnv: (pod) => ({ TESSERA_SERVING_PORT: String(ports[pod]) }),
  });
  const bases = ports.map((p) => `http://127.0.0.1:${p}`);
  return { pods: processes, bases, leader: bases[0] as string };
}

/** GET a probe; 0 when nothing answers (the process is gone or not listening yet). */
export async function probe(base: string, path: '/healthz' | '/readyz'): Promise<number> {
  try {
    const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** `/readyz` with its reason; status 0 when nothing answers. */
export async function readiness(base: string): Promise<{ status: number; reason?: string }> {
  try {
    const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2_000) });
    const body = (await res.json()) as { reason?: string };
    return { status: res.status, ...(body.reason !== undefined ? { reason: body.reason } : {}) };
  } catch {
    return { status: 0 };
  }
}

export async function waitAllReady(group: ServingGroup, withinMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const statuses = await Promise.all(group.bases.map((b) => probe(b, '/readyz')));
    if (statuses.every((s) => s === 200)) return Date.now() - started;
    if (group.pods.some((p) => p.child.exitCode !== null)) {
      throw new Error(
        `a pod exited while starting:\n${group.pods.map((p) => p.output().slice(-3000)).join('\n')}`,
      );
    }
    if (Date.now() - started > withinMs) {
      throw new Error(
        `not every pod was ready within ${withinMs} ms (readyz ${statuses.join(', ')}):\n` +
          group.pods.map((p) => p.output().slice(-3000)).join('\n'),
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function jsonTensor(t: Tensor) {
  const data = t.toFloat32Array();
  return {
    dtype: 'f32',
    shape: [...t.shape],
    data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'),
  };
}

/** The fixture case's inputs as a `POST /v1/denoise` JSON body (Flux latents packed, as the API takes). */
export function fixtureRequestBody(): Record<string, unknown> {
  const file = NamedTensors.read(join(REFERENCE_DIR, FLUX_TXT7.file));
  return {
    latents: jsonTensor(packLatents(file.required('latents_unpacked', 'fixture'))),
    promptEmbeds: jsonTensor(file.required('prompt_embeds', 'fixture')),
    pooledPromptEmbeds: jsonTensor(file.required('pooled_prompt_embeds', 'fixture')),
    steps: FLUX_TXT7.steps,
    guidanceScale: FLUX_TXT7.guidanceScale,
  };
}

/** Every process of the group: the two launchers and the workers they reported. */
export function groupPids(group: ServingGroup): number[] {
  const workers = group.pods.flatMap((p) => [...workerPids(p.output()).values()]);
  const launchers = group.pods.map((p) => p.child.pid).filter((pid): pid is number => pid !== undefined);
  return [...launchers, ...workers];
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Ends whatever is left of a group (the test's own processes, by pid). */
export function killGroup(group: ServingGroup | undefined): void {
  if (!group) return;
  for (const pid of groupPids(group)) {
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
}
