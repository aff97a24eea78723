import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const REPO_ROOT = resolve(import.meta.dirname, '../../..');
const CACHE = process.env.TESSERA_CACHE ?? join(REPO_ROOT, '.cache');

/**
 * A binary built by scripts/setup.d/55-deploy-tools (helm, kstatus). Missing means setup did not run:
 * the test fails with the command that fixes it rather than skipping.
 */
export function deployTool(name: 'helm' | 'kstatus'): string {
  const current = join(CACHE, 'deploy-tools', 'current');
  const path = existsSync(current)
    ? join(CACHE, 'deploy-tools', readFileSync(current, 'utf8').trim(), 'bin', name)
    : undefined;
  if (!path || !existsSync(path)) {
    throw new Error(`${name} is not built: run scripts/setup.d/55-deploy-tools (or ./scripts/setup)`);
  }
  return path;
}

/**
 * Debian's Lua 5.1 interpreter (installed by scripts/setup.d/55-deploy-tools): Argo CD runs health
 * scripts in gopher-lua, which implements Lua 5.1, so a script that passes here uses nothing newer.
 */
export function luaInterpreter(): string {
  const path = '/usr/bin/lua5.1';
  if (!existsSync(path)) throw new Error('lua5.1 is missing: run scripts/setup.d/55-deploy-tools');
  return path;
}

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool to completion; a non-zero exit is returned, not thrown, so tests can assert on it. */
export async function runTool(
  file: string,
  args: readonly string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<ToolResult> {
  const child = run(file, args, {
    cwd: options.cwd ?? REPO_ROOT,
    env: options.env ?? process.env,
    maxBuffer: 64 * 1024 * 1024,
    timeout: options.timeoutMs ?? 120_000,
  });
  if (options.input !== undefined) {
    child.child.stdin?.end(options.input);
  }
  try {
    const { stdout, stderr } = await child;
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
