// Where a process's JSON log lines go: stdout by default (a pod's or a rank's log), and for a command a
// person runs (logForPerson) a file when TESSERA_LOG_FILE names one, with warnings also on stderr.
// Each case is a fresh process, as the routing is per process.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'tessera-log-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// A child made before the switch (as modules make theirs at import) must follow it.
const script = (forPerson: boolean) => `
  import('./src/shared/log.ts').then(({ log, logForPerson }) => {
    const early = log.child({ component: 'early' });
    ${forPerson ? 'logForPerson();' : ''}
    early.info('an info line');
    log.warn('a warning');
    process.stdout.write('a line for a person\\n');
  });`;

function run(forPerson: boolean, env: Record<string, string> = {}) {
  const { TESSERA_LOG_FILE: _, ...inherited } = process.env;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', script(forPerson)], {
    cwd: root,
    env: { ...inherited, TESSERA_LOG_LEVEL: 'info', ...env },
    encoding: 'utf8',
  });
  expect(child.status, child.stderr).toBe(0);
  const json = (text: string) =>
    text
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => (JSON.parse(l) as { msg: string }).msg);
  return { child, stdoutJson: json(child.stdout), stderrJson: json(child.stderr) };
}

describe('process log routing', () => {
  it('writes JSON lines to stdout by default (a pod, a rank)', () => {
    const { child, stdoutJson, stderrJson } = run(false);
    expect(stdoutJson).toEqual(['an info line', 'a warning']);
    expect(stderrJson).toEqual([]);
    expect(child.stdout).toContain('a line for a person');
  });

  it('for a person: stdout keeps only their lines, warnings go to stderr, nothing else is kept', () => {
    const { child, stdoutJson, stderrJson } = run(true);
    expect(child.stdout).toBe('a line for a person\n');
    expect(stdoutJson).toEqual([]);
    expect(stderrJson).toEqual(['a warning']);
  });

  it('for a person with TESSERA_LOG_FILE: every line goes to that file, warnings to stderr too', () => {
    const file = join(work, 'logs', 'run.jsonl');
    const { child, stderrJson } = run(true, { TESSERA_LOG_FILE: file });
    expect(child.stdout).toBe('a line for a person\n');
    expect(stderrJson).toEqual(['a warning']);
    const kept = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; component?: string });
    expect(kept.map((l) => l.msg)).toEqual(['an info line', 'a warning']);
    expect(kept[0]?.component).toBe('early');
  });
});
