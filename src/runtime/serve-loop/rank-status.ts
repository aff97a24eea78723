/**
 * What a serving rank tells its pod's launcher over the child-process IPC channel, so that the pod's
 * probes (answered by the launcher on pods other than the leader's) reflect its ranks: started once every
 * local rank has warmed up, not ready for good once any reports a fatal error.
 */

export type RankStage = 'weights-loaded' | 'joined' | 'warmed-up' | 'fatal';

export interface RankStatusMessage {
  type: 'tessera-rank-status';
  rank: number;
  stage: RankStage;
  reason?: string;
}

const STAGES: readonly string[] = ['weights-loaded', 'joined', 'warmed-up', 'fatal'];

export function isRankStatusMessage(value: unknown): value is RankStatusMessage {
  const m = value as Partial<RankStatusMessage> | null;
  return (
    m !== null &&
    typeof m === 'object' &&
    m.type === 'tessera-rank-status' &&
    Number.isInteger(m.rank) &&
    typeof m.stage === 'string' &&
    STAGES.includes(m.stage)
  );
}

/** Sends a status to the launcher; a no-op for a rank started by hand (no IPC channel). */
export function reportToLauncher(rank: number, stage: RankStage, reason?: string): void {
  if (!process.send || !process.connected) return;
  const message: RankStatusMessage = {
    type: 'tessera-rank-status',
    rank,
    stage,
    ...(reason ? { reason } : {}),
  };
  process.send(message);
}
