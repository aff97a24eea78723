/**
 * `tessera worker` in launcher mode: read the env contract and the plan, start one worker process per
 * rank the plan gives this pod (one per GPU; in CPU mode one per rank), and supervise them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Logger, log } from '../../shared/log.js';
import { DRAIN_GRACE_MS } from '../../shared/runtime-contract.js';
import { readTransformerConfig } from '../families/index.js';
import { TERMINATION_LOG, writeTerminationMessage } from '../hub/termination-message.js';
import { checkDegreesFitModel, checkpointFacts } from '../parallel-denoise/checkpoint-fit.js';
import { bindAddresses } from '../rank/addresses.js';
import { type DeviceRequest, podGpuRequirement } from '../rank/device.js';
import { type PodEnvironment, RANK_ENV, readPodEnvironment } from '../rank/env-config.js';
import { readRankFailure } from '../rank/failure-report.js';
import { requireGpus } from '../rank/gpu-check.js';
import { ranksOfPod, readPlanFile } from '../rank/plan-file.js';
import { groupFailure, type WorkerExit } from './group-failure.js';
import { PodProbes } from './pod-probes.js';
import { type SupervisorOptions, superviseWorkers, type WorkerSpec } from './supervisor.js';

export interface LaunchOptions {
  env: NodeJS.ProcessEnv;
  /** How a worker process is started: the same program, in rank mode, with these arguments. */
  workerCommand: string;
  workerArgs: readonly string[];
  /** `--device` (the workers get it too, in workerArgs). */
  device: DeviceRequest;
  /** After a worker died, how long the others get to end themselves (default 10 s). */
  graceMs?: number;
  /** After SIGTERM, how long the workers get to drain (default: the pod's grace less a margin). */
  drainGraceMs?: number;
  /**
   * Serving mode (no request on the command line): workers report their stages over IPC, the launcher
   * answers the probes on pods other than the leader's, and a clean drain after SIGTERM exits 0.
   */
  serving?: boolean;
  /** The launcher's own logger; default: the root logger (stdout). */
  logger?: Logger;
  /** Where each worker's output goes (SupervisorOptions.workerOutput); default: this process's. */
  workerOutput?: (rank: number) => number;
  /** Where a failure's one line goes for the kubelet (default /dev/termination-log; written only if it exists). */
  terminationLog?: string;
}

export interface LaunchResult {
  /** The pod's exit code. */
  code: number;
  /** When a worker failed: the rank that caused it and its reason with its causes, in one line. */
  failure: string | undefined;
}

/** `failureFile(rank)`: where that worker writes why it failed (RANK_ENV.failureFile). */
export function workerSpecs(
  pod: PodEnvironment,
  options: LaunchOptions,
  failureFile: (rank: number) => string,
): WorkerSpec[] {
  const plan = readPlanFile(pod.planPath);
  const placements = ranksOfPod(plan, pod);
  // A GPU plan on a machine without its GPUs ends the pod at once, before any worker starts.
  requireGpus(
    podGpuRequirement(options.device, plan, placements.length),
    `the plan (${placements.length} rank(s) on pod ${pod.podIndex})`,
  );
  // A plan that cannot fit the mounted checkpoint fails here, once per pod, before any worker starts
  // (every worker checks again, for a launcher bypassed by hand).
  if (pod.modelPath) {
    checkDegreesFitModel(plan.degrees, checkpointFacts(readTransformerConfig(pod.modelPath)), plan.pipeline);
  }
  return placements.map((placement) => ({
    rank: placement.rank,
    localRank: placement.localRank,
    command: options.workerCommand,
    args: options.workerArgs,
    env: {
      ...options.env,
      [RANK_ENV.rank]: String(placement.rank),
      [RANK_ENV.localRank]: String(placement.localRank),
      [RANK_ENV.failureFile]: failureFile(placement.rank),
    },
  }));
}

/**
 * Runs this pod's workers; when one fails, the result (and the launcher's log, and the pod's termination
 * message) names the rank that caused it and its reason, from the records the workers left.
 */
export async function launchPod(options: LaunchOptions): Promise<LaunchResult> {
  const pod = readPodEnvironment(options.env);
  const logger = (options.logger ?? log).child({
    component: 'launcher',
    pod: pod.podIndex,
    group: pod.groupName,
  });
  const records = mkdtempSync(join(tmpdir(), 'tessera-rank-failures-'));
  const failureFile = (rank: number) => join(records, `rank-${rank}.json`);
  try {
    const specs = workerSpecs(pod, options, failureFile);
    const seen: { firstExit?: WorkerExit; stopped: boolean } = { stopped: false };
    const watch: Watch = {
      exit: (rank, code, signal) => {
        // After the pod was told to stop, a worker ending on the forwarded signal is not a failure.
        if (code !== 0 && !seen.stopped) seen.firstExit ??= { rank, code, signal };
      },
      signal: () => {
        seen.stopped = true;
      },
    };
    const code = await supervise(specs, options, pod, logger, watch);
    const { firstExit } = seen;
    if (code === 0 || !firstExit) return { code, failure: undefined };
    const failures = specs.flatMap((s) => readRankFailure(failureFile(s.rank), s.rank) ?? []);
    const failure = groupFailure(failures, firstExit);
    logger.error({ code, failure }, `the workers failed: ${failure}`);
    writeTerminationMessage(`RankFailed: ${failure}`, options.terminationLog ?? TERMINATION_LOG);
    return { code, failure };
  } finally {
    rmSync(records, { recursive: true, force: true });
  }
}

interface Watch {
  exit: NonNullable<SupervisorOptions['onWorkerExit']>;
  signal: NonNullable<SupervisorOptions['onSignal']>;
}

async function supervise(
  specs: WorkerSpec[],
  options: LaunchOptions,
  pod: PodEnvironment,
  logger: Logger,
  watch: Watch,
): Promise<number> {
  logger.info({ ranks: specs.map((s) => s.rank), plan: pod.planPath }, 'starting workers');
  const supervision: SupervisorOptions = {
    graceMs: options.graceMs ?? 10_000,
    drainGraceMs: options.drainGraceMs ?? DRAIN_GRACE_MS,
    logger,
    onWorkerExit: watch.exit,
    onSignal: watch.signal,
    ...(options.workerOutput ? { workerOutput: options.workerOutput } : {}),
  };
  if (!options.serving) return superviseWorkers(specs, supervision);
  // Pod 0's serving port belongs to rank 0's GenerationServer; every other pod's to its launcher.
  const probes =
    pod.podIndex === 0
      ? undefined
      : await PodProbes.start({
          env: options.env,
          ranks: specs.map((s) => s.rank),
          host: bindAddresses(pod.rendezvousAddress, options.env).storeListenHost,
          logger,
        });
  try {
    return await superviseWorkers(specs, {
      ...supervision,
      cleanStopExitsZero: true,
      onMessage: (rank, message) => probes?.onMessage(rank, message),
      onWorkerExit: (rank, code, signal) => {
        watch.exit(rank, code, signal);
        probes?.onWorkerExit(rank, code, signal);
      },
      onSignal: (signal) => {
        watch.signal(signal);
        probes?.draining();
      },
    });
  } finally {
    await probes?.close();
  }
}
