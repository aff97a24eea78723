/**
 * The child-process IPC channel between a serving pod's launcher and its ranks. Ranks report their
 * stages, so that the pod's probes (answered by the launcher on pods other than the leader's) reflect
 * them: started once every local rank has warmed up, not ready for good once any reports a fatal error.
 * The launcher tells the surviving ranks when one of them dies, so that the leader can say why it is no
 * longer ready (rather than being stopped by a signal it would take for a drain).
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

/** Launcher → ranks: a rank of this pod died; the group cannot go on. */
export interface PeerExitedMessage {
  type: 'tessera-peer-exited';
  rank: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export function isPeerExitedMessage(value: unknown): value is PeerExitedMessage {
  const m = value as Partial<PeerExitedMessage> | null;
  return m !== null && typeof m === 'object' && m.type === 'tessera-peer-exited' && Number.isInteger(m.rank);
}

export function describePeerExit(m: PeerExitedMessage): string {
  return `rank ${m.rank} on this pod exited (${m.signal ?? `code ${m.code}`})`;
}

/** Calls `handler` when the launcher reports a dead local rank; a no-op without an IPC channel. */
export function onPeerExited(handler: (message: PeerExitedMessage) => void): void {
  process.on('message', (message: unknown) => {
    if (isPeerExitedMessage(message)) handler(message);
  });
}
