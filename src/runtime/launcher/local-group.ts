/**
 * A whole group on this machine (on CPU unless `--device` asks for GPUs): the plan for the given degrees
 * with every rank on one "pod", written to a temporary file, and the pod launcher run over it with the env the operator would
 * give a pod — the same path as in a cluster, so any hybrid can be tried locally.
 */
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileLogger } from '../../shared/log.js';
import {
  type Degrees,
  type ModelFacts,
  type PipelineSettings,
  PLAN_SCHEMA_VERSION,
  type Plan,
  type PlanDevice,
  planShortString,
  worldSize,
} from '../../shared/plan/index.js';
import { RUNTIME_ENV } from '../../shared/runtime-contract.js';
import { architectureOf, readTransformerConfig } from '../families/index.js';
import { type DeviceRequest, deviceFlag } from '../rank/device.js';
import { RANK_ENV } from '../rank/env-config.js';
import { writeGroupSecretFile } from '../rendezvous/group-secret.js';
import { type LaunchResult, launchPod } from './launch.js';

export interface LocalGroupOptions {
  degrees: Degrees;
  pipeline: PipelineSettings;
  modelPath: string;
  /** `tessera worker` arguments (the request). */
  workerArgs: readonly string[];
  /** `--device` of `tessera denoise`; default (and `plan`): CPU. */
  device?: DeviceRequest;
  /** Bound on rendezvous and collectives for the local ranks. */
  commTimeoutMs?: number;
  /** The `tessera` CLI script the workers run; default: this build's (cliEntry()). */
  cli?: string;
  /**
   * A folder for the logs (`launcher.log`, `rank-<n>.log`: each rank's stdout and stderr) instead of
   * this process's stdout and stderr.
   */
  logDir?: string;
  /** The launcher's termination message file (LaunchOptions.terminationLog). */
  terminationLog?: string;
}

/**
 * This build's CLI entry: dist/cli/main.js when compiled, src/cli/main.ts when running from sources
 * (under tsx). Never the running script, which may be a benchmark or a test that would start itself.
 */
export function cliEntry(): string {
  const js = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
  return existsSync(js) ? js : fileURLToPath(new URL('../../cli/main.ts', import.meta.url));
}

export async function freeLocalPort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => done(port));
    });
  });
}

export function modelFacts(modelPath: string): ModelFacts {
  const { facts } = architectureOf(readTransformerConfig(modelPath));
  return {
    family: facts.family,
    layers: facts.blocks,
    heads: facts.heads,
    headDim: facts.headDim,
    patchSize: facts.latentPatch,
    vaeScaleFactor: 8,
    textTokens: 0,
    usesCfg: facts.trueCfg,
    parameters: 0,
  };
}

/** A one-pod plan for a local group, on CPU unless asked (no prediction: nothing was planned for hardware). */
export function localPlan(
  degrees: Degrees,
  pipeline: PipelineSettings,
  model: ModelFacts,
  device: PlanDevice = 'cpu',
): Plan {
  const size = worldSize(degrees);
  return {
    schemaVersion: PLAN_SCHEMA_VERSION,
    model,
    request: { height: 0, width: 0, steps: 0, maxBatch: degrees.dataParallel, guidanceScale: 0 },
    degrees,
    gpusPerGroup: size,
    podsPerGroup: 1,
    gpusPerPod: size,
    pipeline,
    ranks: Array.from({ length: size }, (_, rank) => ({ rank, pod: 0, localRank: rank })),
    predicted: { stepSeconds: 0, totalSeconds: 0, memoryBytesPerGpu: 0 },
    reason: `local ${device === 'cpu' ? 'CPU' : 'GPU'} group ${planShortString(degrees)} from tessera denoise`,
    device,
  };
}

/** Runs the group and resolves with the launcher's exit code and, when a rank failed, why. */
export async function runLocalGroup(options: LocalGroupOptions): Promise<LaunchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-local-'));
  try {
    const device = options.device ?? { kind: 'plan' };
    const plan = localPlan(
      options.degrees,
      options.pipeline,
      modelFacts(options.modelPath),
      device.kind === 'plan' || device.kind === 'cpu' ? 'cpu' : 'cuda',
    );
    const planPath = join(dir, 'plan.json');
    writeFileSync(planPath, JSON.stringify(plan, null, 2));
    const port = await freeLocalPort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      [RUNTIME_ENV.podIndex]: '0',
      [RUNTIME_ENV.podsPerGroup]: '1',
      [RUNTIME_ENV.gpusPerPod]: String(plan.gpusPerPod),
      [RUNTIME_ENV.worldSize]: String(plan.gpusPerGroup),
      [RUNTIME_ENV.planPath]: planPath,
      [RUNTIME_ENV.rendezvousAddress]: '127.0.0.1',
      [RUNTIME_ENV.rendezvousPort]: String(port),
      [RUNTIME_ENV.modelPath]: options.modelPath,
      [RUNTIME_ENV.groupName]: 'local',
      // The ranks authenticate to each other as a pod's do; a local group gets a fresh secret.
      [RUNTIME_ENV.groupSecretFile]: writeGroupSecretFile(dir),
      ...(options.commTimeoutMs !== undefined
        ? { [RANK_ENV.commTimeoutMs]: String(options.commTimeoutMs) }
        : {}),
    };
    // The worker processes run the CLI with this process's loader flags: `node [flags] <cli> worker <args>`.
    const cli = options.cli ?? cliEntry();
    const launch = {
      env,
      workerCommand: process.execPath,
      workerArgs: [...process.execArgv, cli, 'worker', ...options.workerArgs, ...deviceFlag(device)],
      device,
      ...(options.terminationLog ? { terminationLog: options.terminationLog } : {}),
    };
    if (!options.logDir) return await launchPod(launch);
    const logDir = options.logDir;
    const files = new Map<number, number>();
    try {
      return await launchPod({
        ...launch,
        logger: fileLogger(join(logDir, 'launcher.log')),
        workerOutput: (rank) => {
          const fd = openSync(join(logDir, `rank-${rank}.log`), 'a');
          files.set(rank, fd);
          return fd;
        },
      });
    } finally {
      for (const fd of files.values()) closeSync(fd);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
