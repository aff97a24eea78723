/**
 * Memory measured in a fresh child process (a test's own resident set is too noisy): the child reads its
 * /proc/self/status and prints one `RESULT <json>` line, which the test parses.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** A kB field of /proc/self/status (VmRSS, VmHWM). */
export function statusKb(field: string): number {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  if (!line) throw new Error(`/proc/self/status has no ${field}`);
  return Number(line.split(/\s+/)[1]);
}

/** Runs `script` with `args` under tsx and --expose-gc, and returns the JSON of its RESULT line. */
export function resultOfChild<T>(script: string, args: string[]): Promise<T> {
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', script, ...args],
      { env: { ...process.env, TESSERA_LOG_LEVEL: 'warn' }, timeout: 300_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const line = String(stdout)
          .split('\n')
          .find((l) => l.startsWith('RESULT '));
        if (err || !line) fail(new Error(`the child failed: ${err?.message ?? ''}\n${stderr}`));
        else done(JSON.parse(line.slice('RESULT '.length)) as T);
      },
    );
  });
}
