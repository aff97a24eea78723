import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Makes sure a control plane never outlives its owner, however the owner ends:
 * - stop() — the normal path (control-plane.ts);
 * - a fatal signal (SIGINT/SIGTERM/SIGHUP) or process exit — synchronous kill of every process group and
 *   removal of the work folder from the handlers below;
 * - the owner killed outright (SIGKILL, an OOM, vitest tearing down a worker) — no handler runs, so a
 *   small detached watchdog shell polls the owner's pid and, once it is gone, kills the process groups
 *   listed in `<workDir>/pgids` and removes the folder.
 */

/** What the exit paths need from a running control plane: all synchronous. */
export interface Reapable {
  readonly workDir: string;
  killNow(): void;
}

const live = new Set<Reapable>();
const FATAL_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let handlersInstalled = false;

export function registerForCleanup(cluster: Reapable): void {
  live.add(cluster);
  installHandlers();
}

export function unregisterFromCleanup(cluster: Reapable): void {
  live.delete(cluster);
}

function killAllNow(): void {
  for (const cluster of live) {
    try {
      cluster.killNow();
    } catch {
      // Exit path: keep going so the other clusters are cleaned up too.
    }
  }
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  killAllNow();
  // If we are the only listener, restore the default action (terminate) by re-raising; otherwise the
  // program has its own handler and decides what happens next.
  if (process.listenerCount(signal) === 1) {
    uninstallHandlers();
    process.kill(process.pid, signal);
  }
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAllNow);
  for (const signal of FATAL_SIGNALS) process.on(signal, onSignal);
}

function uninstallHandlers(): void {
  handlersInstalled = false;
  process.off('exit', killAllNow);
  for (const signal of FATAL_SIGNALS) process.off(signal, onSignal);
}

/** The file the watchdog reads: one process-group id per line. */
export function pgidFile(workDir: string): string {
  return join(workDir, 'pgids');
}

export function writePgids(workDir: string, pgids: readonly number[]): void {
  writeFileSync(pgidFile(workDir), pgids.map((p) => `${p}\n`).join(''));
}

/** Removes the work folder; used from exit paths, so synchronous and never throwing. */
export function removeWorkDirNow(workDir: string): void {
  try {
    rmSync(workDir, { recursive: true, force: true });
  } catch {
    // Nothing more can be done on the way out.
  }
}

// Exits on its own once the folder is gone (the normal stop removed it) or once the owner is gone
// (after killing what the owner left behind). Polls once a second: a leak lasts a second at most.
// `kill -s KILL -- -PGID` is the form dash (Debian's sh) accepts for a process group; `kill -KILL -- -PGID`
// is refused there ("Illegal number").
const WATCHDOG_SCRIPT = `
owner="$1"; dir="$2"
while kill -0 "$owner" 2>/dev/null && [ -d "$dir" ]; do sleep 1; done
[ -d "$dir" ] || exit 0
for pgid in $(cat "$dir/pgids" 2>/dev/null); do kill -s KILL -- "-$pgid" 2>/dev/null; done
rm -rf "$dir"
`;

/** Starts the watchdog for one cluster; returns its pid (stop() ends it by that pid). */
export function startWatchdog(workDir: string): number {
  const child = spawn(
    'sh',
    ['-c', WATCHDOG_SCRIPT, 'tessera-devcluster-watchdog', String(process.pid), workDir],
    {
      detached: true, // its own process group: a Ctrl-C to our terminal must not take it down with us
      stdio: 'ignore',
    },
  );
  child.unref();
  return child.pid ?? -1;
}
