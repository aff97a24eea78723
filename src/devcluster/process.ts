import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { Logger } from '../shared/log.js';
import type { Component } from './errors.js';

/** How a supervised process ended. */
export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SupervisedProcessOptions {
  readonly component: Component;
  readonly command: string;
  readonly args: readonly string[];
  /** stdout and stderr are appended here, so a restart keeps the earlier run's lines. */
  readonly logFile: string;
  readonly cwd: string;
  readonly log: Logger;
}

/**
 * One control-plane process. It runs in its own process group (detached), so stopping it signals the
 * group and nothing it spawned survives; its output goes straight to a log file (no pipes to drain, and
 * the file outlives a crash of ours).
 */
export class SupervisedProcess {
  readonly component: Component;
  readonly logFile: string;
  readonly exited: Promise<ProcessExit>;
  private readonly child: ChildProcess;
  private exitInfo: ProcessExit | undefined;

  private constructor(options: SupervisedProcessOptions, child: ChildProcess, exited: Promise<ProcessExit>) {
    this.component = options.component;
    this.logFile = options.logFile;
    this.child = child;
    this.exited = exited;
    void exited.then((exit) => {
      this.exitInfo = exit;
    });
  }

  /** Starts the process; rejects only when it cannot be spawned at all (e.g. the binary is missing). */
  static async start(options: SupervisedProcessOptions): Promise<SupervisedProcess> {
    const fd = openSync(options.logFile, 'a');
    try {
      const child = spawn(options.command, [...options.args], {
        cwd: options.cwd,
        detached: true,
        stdio: ['ignore', fd, fd],
      });
      // Do not keep the event loop alive for a child: our owner decides when to stop it.
      child.unref();
      const exited = new Promise<ProcessExit>((resolveExit) => {
        child.once('exit', (code, signal) => resolveExit({ code, signal }));
      });
      await new Promise<void>((resolveSpawn, reject) => {
        child.once('spawn', resolveSpawn);
        child.once('error', reject);
      });
      options.log.debug(
        { component: options.component, pid: child.pid, args: options.args },
        'Started process',
      );
      return new SupervisedProcess(options, child, exited);
    } finally {
      closeSync(fd); // the child holds its own copy of the descriptor
    }
  }

  get pid(): number {
    // `spawn` resolved, so the pid is set.
    return this.child.pid ?? -1;
  }

  /** The exit status once the process has ended, else undefined. */
  get exit(): ProcessExit | undefined {
    return this.exitInfo;
  }

  /**
   * Asks the process group to terminate, waits up to `graceMs`, then kills it. Resolves once the process
   * has exited; a no-op for one that already has.
   */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.exitInfo) return;
    // While we wait for it, the child must keep the event loop alive (it is unref'd while running).
    this.child.ref();
    signalGroup(this.pid, 'SIGTERM');
    const timer = new Promise<'timeout'>((resolveTimer) =>
      setTimeout(resolveTimer, graceMs, 'timeout').unref(),
    );
    if ((await Promise.race([this.exited, timer])) === 'timeout') {
      signalGroup(this.pid, 'SIGKILL');
      await this.exited;
    }
  }

  /** Kills the process group at once; for exit and signal handlers, which cannot wait. */
  killNow(): void {
    if (!this.exitInfo) signalGroup(this.pid, 'SIGKILL');
  }

  /** The last `lines` lines of the log (for error messages). */
  logTail(lines = 30): string {
    return tailOfFile(this.logFile, lines);
  }
}

/** Signals a whole process group; a group that is already gone is not an error. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  if (pgid <= 0) return;
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Whether a process with this id exists (signal 0 only checks). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The last lines of a text file, reading at most its final 64 KiB; '' when it does not exist. */
export function tailOfFile(path: string, lines: number): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const length = Math.min(size, 65_536);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return buffer.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
