import { join } from 'node:path';
import { luaInterpreter, REPO_ROOT, runTool } from './tools.js';

export const HEALTH_DIR = join(REPO_ROOT, 'integrations/argocd/tessera.dev/DiTInference');
export const HEALTH_SCRIPT = join(HEALTH_DIR, 'health.lua');

export interface Health {
  status: string;
  message: string;
}

/** JSON as a Lua table constructor; null becomes absent, as Argo CD's JSON-to-Lua conversion does. */
export function luaLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `{${value.map(luaLiteral).join(',')}}`;
  const fields = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `[${JSON.stringify(k)}]=${luaLiteral(v)}`);
  return `{${fields.join(',')}}`;
}

/**
 * Runs the health script as Argo CD does: a chunk with the object in the global `obj`, whose return
 * value is `{status, message}`.
 */
export async function luaHealth(object: unknown): Promise<Health> {
  const program = [
    `obj = ${luaLiteral(object)}`,
    `local hs = dofile(${JSON.stringify(HEALTH_SCRIPT)})`,
    'io.write(hs.status, "\\n", hs.message or "")',
  ].join('\n');
  const out = await runTool(luaInterpreter(), ['-'], { input: program });
  if (out.code !== 0) throw new Error(`health.lua failed: ${out.stderr}`);
  const [status = '', ...message] = out.stdout.split('\n');
  return { status, message: message.join('\n') };
}
