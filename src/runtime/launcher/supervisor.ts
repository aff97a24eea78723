/**
 * Supervises the worker processes of one pod: starts one per local rank, forwards SIGTERM/SIGINT to all
 * of them, and ends as soon as any worker dies abnormally — killing the others — so that the pod fails
 * and the operator's group policy restarts the whole group (a group with a missing rank cannot make
 * progress; waiting for the collective timeout on every rank would only delay the restart).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Logger } from '../../shared/log.js';
import type { PeerExitedMessage } from '../serve-loop/rank-status.js';

export interface WorkerSpec {
  rank: number;
  localRank: number;
  command: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
}

export interface SupervisorOptions {
  /** How long the others get to end themselves after a worker died, before SIGKILL. */
  graceMs: number;
  /**
   * How long workers get after a forwarded signal before SIGKILL (default `graceMs`): a serving leader
   * finishes and answers its running batch first, which can take far longer than a failure's clean-up.
   */
  drainGraceMs?: number;
  logger: Logger;
  /** Signals forwarded to the workers (tests pass [] to leave the test runner's handlers alone). */
  forwardSignals?: readonly NodeJS.Signals[];
  /**
   * Opens an IPC channel to each worker and hands its messages here (serving ranks report their stages
   * so the pod's probes follow them); without it workers get no channel.
   */
  onMessage?: (rank: number, message: unknown) => void;
  /** Told of every worker's exit (the probes turn not-ready when one dies). */
  onWorkerExit?: (rank: number, code: number | null, signal: NodeJS.Signals | null) => void;
  /** Told when the pod itself is signalled (the probes turn not-ready while draining). */
  onSignal?: (signal: NodeJS.Signals) => void;
  /**
   * A signal is the ordinary end of a serving pod: when every worker then exits 0 (the leader drained and
   * the group left cleanly), the pod exits 0 instead of 128+n.
   */
  cleanStopExitsZero?: boolean;
  /** Where a worker's stdout and stderr go (open file descriptors); default: this process's. */
  workerOutput?: (rank: number) => number;
}

const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Resolves with the pod's exit code: 0 when every worker exited 0; the first failure's code (1 for a
 * worker killed by a signal) as soon as any worker fails; 128+n when the pod itself was signalled.
 */
export function superviseWorkers(specs: readonly WorkerSpec[], options: SupervisorOptions): Promise<number> {
  const { logger } = options;
  const children = new Map<number, ChildProcess>();
  let outcome: number | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const signals = options.forwardSignals ?? (['SIGTERM', 'SIGINT'] as const);

  return new Promise((done) => {
    const finishIfIdle = () => {
      if (children.size > 0) return;
      if (killTimer) clearTimeout(killTimer);
      for (const s of signals) process.off(s, onSignal);
      done(outcome ?? 0);
    };
    const stopAll = (signal: NodeJS.Signals) => {
      for (const child of children.values()) child.kill(signal);
      if (!killTimer) {
        killTimer = setTimeout(() => {
          for (const [rank, child] of children) {
            logger.warn({ rank }, 'worker ignored SIGTERM within the grace period; killing it');
            child.kill('SIGKILL');
          }
        }, options.drainGraceMs ?? options.graceMs);
        killTimer.unref();
      }
    };
    // With IPC (serving), the survivors are told which rank died and end themselves (the leader first
    // turns not-ready with that reason); a signal would look like an ordinary stop and start a drain.
    const notifyThenKill = (rank: number, code: number | null, signal: NodeJS.Signals | null) => {
      for (const child of children.values()) {
        const notice: PeerExitedMessage = { type: 'tessera-peer-exited', rank, code, signal };
        if (child.connected) child.send(notice);
        else child.kill('SIGTERM');
      }
      killTimer ??= setTimeout(() => {
        for (const [r, child] of children) {
          logger.warn({ rank: r }, 'worker still running after a peer died; killing it');
          child.kill('SIGKILL');
        }
      }, options.graceMs);
      killTimer.unref();
    };
    function onSignal(signal: NodeJS.Signals) {
      logger.info({ signal }, 'forwarding signal to the workers');
      if (!options.cleanStopExitsZero) outcome ??= SIGNAL_EXIT[signal] ?? 1;
      options.onSignal?.(signal);
      stopAll(signal);
    }
    for (const s of signals) process.on(s, onSignal);

    for (const spec of specs) {
      const out = options.workerOutput?.(spec.rank) ?? 'inherit';
      const child = spawn(spec.command, [...spec.args], {
        env: spec.env,
        stdio: options.onMessage ? ['inherit', out, out, 'ipc'] : ['inherit', out, out],
      });
      if (options.onMessage) {
        const onMessage = options.onMessage;
        child.on('message', (message) => onMessage(spec.rank, message));
      }
      children.set(spec.rank, child);
      logger.info({ rank: spec.rank, localRank: spec.localRank, pid: child.pid }, 'worker started');
      child.on('error', (err) => {
        logger.error({ rank: spec.rank, err }, 'worker could not be started');
      });
      child.on('exit', (code, signal) => {
        children.delete(spec.rank);
        options.onWorkerExit?.(spec.rank, code, signal);
        const failed = code !== 0;
        if (failed && outcome === undefined) {
          outcome = code !== null && code !== 0 ? code : 1;
          logger.error(
            { rank: spec.rank, code, signal },
            'worker died; stopping the other workers so the group restarts',
          );
          if (options.onMessage) notifyThenKill(spec.rank, code, signal);
          else stopAll('SIGTERM');
        } else {
          logger.info({ rank: spec.rank, code, signal }, 'worker exited');
        }
        finishIfIdle();
      });
    }
  });
}
