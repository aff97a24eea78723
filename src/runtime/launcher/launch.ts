/**
 * `tessera worker` in launcher mode: read the env contract and the plan, start one worker process per
 * rank the plan gives this pod (one per GPU; in CPU mode one per rank), and supervise them.
 */
import { type Logger, log } from '../../shared/log.js';
import { DRAIN_GRACE_MS } from '../../shared/runtime-contract.js';
import { readTransformerConfig } from '../families/index.js';
import { checkDegreesFitModel, checkpointFacts } from '../parallel-denoise/checkpoint-fit.js';
import { bindAddresses } from '../rank/addresses.js';
import { type DeviceRequest, podGpuRequirement } from '../rank/device.js';
import { type PodEnvironment, RANK_ENV, readPodEnvironment } from '../rank/env-config.js';
import { requireGpus } from '../rank/gpu-check.js';
import { ranksOfPod, readPlanFile } from '../rank/plan-file.js';
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
}

export function workerSpecs(pod: PodEnvironment, options: LaunchOptions): WorkerSpec[] {
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
    },
  }));
}

export async function launchPod(options: LaunchOptions): Promise<number> {
  const pod = readPodEnvironment(options.env);
  const logger = (options.logger ?? log).child({
    component: 'launcher',
    pod: pod.podIndex,
    group: pod.groupName,
  });
  const specs = workerSpecs(pod, options);
  logger.info({ ranks: specs.map((s) => s.rank), plan: pod.planPath }, 'starting workers');
  const supervision: SupervisorOptions = {
    graceMs: options.graceMs ?? 10_000,
    drainGraceMs: options.drainGraceMs ?? DRAIN_GRACE_MS,
    logger,
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
      onWorkerExit: (rank, code, signal) => probes?.onWorkerExit(rank, code, signal),
      onSignal: () => probes?.draining(),
    });
  } finally {
    await probes?.close();
  }
}
