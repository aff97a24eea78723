/**
 * The PyTorch side of a benchmark: a Python script that prints a JSON line with its versions once warmed
 * up, then answers one JSON line per command line on stdin, so the caller interleaves its own rounds with
 * these and both sides see the same machine load. The python is BENCH_PYTHON, else the reference venv's.
 */
import { execFileSync, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = resolve(import.meta.dirname, '../..');

export interface TorchVersions {
  torch: string;
  diffusers: string;
  threads: number;
}

export interface TorchSide {
  versions: TorchVersions;
  /** Sends `command` and returns the script's answer line. */
  ask(command: string): Promise<Record<string, unknown>>;
  close(): void;
}

/** BENCH_PYTHON, else the reference venv's python (tools/reference/venv.sh), or why there is none. */
export function referencePython(): { ok: true; path: string } | { ok: false; why: string } {
  const given = process.env.BENCH_PYTHON;
  if (given) return { ok: true, path: given };
  try {
    const path = execFileSync(resolve(ROOT, 'tools/reference/venv.sh'), { encoding: 'utf8' }).trim();
    return { ok: true, path };
  } catch (err) {
    const first = (err as Error).message.split('\n')[0];
    return { ok: false, why: `no reference python (tools/reference/venv.sh failed: ${first})` };
  }
}

/** Starts `script` (relative to the repository) with `job` as argv[1], or says why it cannot. */
export async function startTorchSide(
  script: string,
  job: unknown,
  stderr: 'inherit' | 'ignore' = 'inherit',
): Promise<TorchSide | string> {
  if (process.env.BENCH_SKIP_TORCH === '1') return 'skipped (BENCH_SKIP_TORCH=1)';
  const python = referencePython();
  if (!python.ok) return python.why;
  const child = spawn(python.path, [resolve(ROOT, script), JSON.stringify(job)], {
    stdio: ['pipe', 'pipe', stderr],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const line = await lines.next();
    if (line.done) throw new Error(`the PyTorch side (${script}) exited early; run it by hand to see why`);
    return JSON.parse(line.value) as Record<string, unknown>;
  };
  const versions = (await next()) as unknown as TorchVersions;
  return {
    versions,
    ask: (command) => {
      child.stdin.write(`${command}\n`);
      return next();
    },
    close: () => child.stdin.end(),
  };
}
