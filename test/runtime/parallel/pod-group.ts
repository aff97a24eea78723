/**
 * Runs a group the way a cluster would: the operator renders the pod template for a plan of 2 pods × 2
 * ranks (`--device cpu` in the runtime args), and each pod's container command runs here as a process with that pod's environment
 * — downward-API fields filled in as the kubelet would, the plan file standing in for the ConfigMap mount,
 * the fixture checkpoint for the model mount, and rank 0's DNS name resolved to 127.0.0.1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1EnvVar } from '@kubernetes/client-node';
import { renderPodTemplate } from '../../../src/operator/render/pod-template.js';
import type {
  Degrees,
  ModelFacts,
  PipelineSettings,
  Plan,
  RequestShape,
} from '../../../src/shared/plan/index.js';
import { PLAN_SCHEMA_VERSION, worldSize } from '../../../src/shared/plan/index.js';
import { RUNTIME_ENV } from '../../../src/shared/runtime-contract.js';
import { buildInference } from '../../operator/support/builders.js';
import { testSecretFile } from '../../support/group-secret.js';
import { CLI, FLUX_FIXTURE_FACTS } from './denoise-fixtures.js';
import { freePort } from './harness.js';

export interface PodGroupOptions {
  degrees: Degrees;
  pipeline: PipelineSettings;
  modelPath: string;
  /** `spec.runtime.args` of the DiTInference. */
  args: string[];
  dir: string;
  env?: Record<string, string>;
  /** Pods in the group (default 2); the world is split evenly between them. */
  pods?: number;
  /** Variables for one pod only (pods sharing a host need distinct serving ports). */
  podEnv?: (pod: number) => Record<string, string>;
  /** The plan's model facts and request shape; default: the flux-dev fixture at 64×96, maxBatch 1. */
  model?: ModelFacts;
  request?: RequestShape;
}

export interface PodProcess {
  pod: number;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  output: () => string;
}

/** A plan of `pods` pods × (world / pods) ranks, ranks contiguous per pod. */
function podPlan(options: PodGroupOptions): Plan {
  const { degrees, pipeline } = options;
  const pods = options.pods ?? 2;
  const size = worldSize(degrees);
  const perPod = size / pods;
  return {
    schemaVersion: PLAN_SCHEMA_VERSION,
    model: options.model ?? FLUX_FIXTURE_FACTS,
    request: options.request ?? { height: 64, width: 96, steps: 4, maxBatch: 1, guidanceScale: 3.5 },
    degrees,
    gpusPerGroup: size,
    podsPerGroup: pods,
    gpusPerPod: perPod,
    pipeline,
    ranks: Array.from({ length: size }, (_, rank) => ({
      rank,
      pod: Math.floor(rank / perPod),
      localRank: rank % perPod,
    })),
    predicted: { stepSeconds: 0, totalSeconds: 0, memoryBytesPerGpu: 0 },
    reason: `test: ${pods} pods`,
  };
}

/** The kubelet's view of one env entry: literal values, downward-API fields. */
function resolveEnv(e: V1EnvVar, pod: number): string | undefined {
  if (e.value !== undefined) return e.value;
  const path = e.valueFrom?.fieldRef?.fieldPath;
  if (path === "metadata.labels['apps.kubernetes.io/pod-index']") return String(pod);
  if (path === 'metadata.name') return `flux-g0-${pod}`;
  if (path === 'metadata.namespace') return 'ns1';
  return undefined;
}

export async function startPodGroup(
  options: PodGroupOptions,
): Promise<{ pods: PodProcess[]; env: Map<string, string>[] }> {
  const plan = podPlan(options);
  const planPath = join(options.dir, 'plan.json');
  writeFileSync(planPath, JSON.stringify(plan));
  // The plan asks for GPUs, as the operator's do; this machine has none, so the pods run it on CPU.
  const args = ['--device', 'cpu', ...options.args];
  // fp32: a parity run. The fixture is f32 and the group is compared with the one-process f32 result;
  // the default bf16 would hold the weights in bf16 (the CPU computes with bf16 weights too).
  const model = { ...buildInference().spec.model, dtype: 'fp32' as const };
  const inf = buildInference('flux', { model, runtime: { imagePullPolicy: 'IfNotPresent', args } });
  const template = renderPodTemplate(inf, 0, {
    plan,
    planHash: 'h',
    defaultImage: 'tessera:test',
    defaultTolerations: [],
    pool: { name: 'local', selector: {} },
  });
  const container = template.spec?.containers[0];
  if (!container?.command) throw new Error('the rendered pod template has no command');
  const port = await freePort();
  const envs: Map<string, string>[] = [];
  const pods: PodProcess[] = [];
  for (let pod = 0; pod < plan.podsPerGroup; pod++) {
    const env = new Map<string, string>();
    for (const e of container.env ?? []) {
      const value = resolveEnv(e, pod);
      if (value !== undefined) env.set(e.name, value);
    }
    // What the mounts and the cluster DNS provide in a real pod.
    env.set(RUNTIME_ENV.planPath, planPath);
    env.set(RUNTIME_ENV.modelPath, options.modelPath);
    env.set(RUNTIME_ENV.rendezvousAddress, '127.0.0.1');
    env.set(RUNTIME_ENV.rendezvousPort, String(port));
    env.set(RUNTIME_ENV.groupSecretFile, testSecretFile());
    envs.push(env);
    // The image's `tessera` is the CLI; here it runs from the sources.
    const [program, ...rest] = container.command;
    if (program !== 'tessera') throw new Error(`unexpected container command ${container.command.join(' ')}`);
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...rest, ...(container.args ?? [])], {
      env: {
        PATH: process.env.PATH ?? '',
        TESSERA_LOG_LEVEL: 'info',
        ...Object.fromEntries(env),
        ...options.env,
        ...options.podEnv?.(pod),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((done) =>
      child.on('exit', (code, signal) => done({ code, signal, ms: Date.now() - started })),
    );
    pods.push({ pod, child, exited, output: () => out });
  }
  return { pods, env: envs };
}

/** Worker pids a pod's launcher reported ("worker started" log lines), by rank. */
export function workerPids(output: string): Map<number, number> {
  const pids = new Map<number, number>();
  for (const line of output.split('\n')) {
    if (!line.includes('"worker started"')) continue;
    const entry = JSON.parse(line) as { rank: number; pid: number; msg: string };
    // The launcher's own pid is in "pid" too: pino puts the child's pid last, which JSON.parse keeps.
    pids.set(entry.rank, entry.pid);
  }
  return pids;
}
