/**
 * The probes of a serving pod other than the leader's, answered by its launcher on TESSERA_SERVING_PORT
 * (on pod 0 rank 0's GenerationServer binds that port instead, so the launcher there answers nothing).
 * Startup turns 200 once every local rank has reported 'warmed-up'; readiness fails for good when a rank
 * reports 'fatal' or dies, and while the pod drains.
 */
import type { Logger } from '../../shared/log.js';
import { isRankStatusMessage, type RankStage } from '../serve-loop/rank-status.js';
import { type ProbeServer, startWorkerProbes } from '../serving/index.js';

export class PodProbes {
  private readonly stages = new Map<number, RankStage | 'starting'>();

  private constructor(
    private readonly probes: ProbeServer,
    ranks: readonly number[],
    private readonly logger: Logger,
  ) {
    for (const rank of ranks) this.stages.set(rank, 'starting');
  }

  static async start(options: {
    env: NodeJS.ProcessEnv;
    ranks: readonly number[];
    host: string;
    logger: Logger;
  }): Promise<PodProbes> {
    const probes = await startWorkerProbes({ env: options.env, logger: options.logger, host: options.host });
    return new PodProbes(probes, options.ranks, options.logger);
  }

  /** A message from a worker's IPC channel; anything but a rank status is ignored. */
  onMessage(rank: number, message: unknown): void {
    if (!isRankStatusMessage(message)) return;
    this.stages.set(rank, message.stage);
    this.logger.info({ rank, stage: message.stage, reason: message.reason }, 'rank status');
    if (message.stage === 'fatal') this.probes.reportFatal(`rank ${rank}: ${message.reason ?? 'failed'}`);
    else if ([...this.stages.values()].every((s) => s === 'warmed-up')) this.probes.markStarted();
  }

  onWorkerExit(rank: number, code: number | null, signal: NodeJS.Signals | null): void {
    if (code === 0) return;
    this.probes.reportFatal(`rank ${rank} exited (${signal ?? `code ${code}`})`);
  }

  /** Readiness fails at once; the listener stays until the workers are gone. */
  draining(): void {
    this.probes.health.markDraining();
  }

  close(): Promise<void> {
    return this.probes.shutdown();
  }
}
