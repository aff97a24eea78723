import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './support/cluster.js';
import { ensureBuilt } from './support/operator-process.js';

/** `tessera operator` started the way a person starts it, with a kubeconfig it cannot use. */
const run = promisify(execFile);

async function operator(args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [
        join(ROOT, 'dist/cli/main.js'),
        'operator',
        '--leader-elect=false',
        '--http-address',
        '127.0.0.1:0',
        ...args,
      ],
      { env: { ...process.env, KUBECONFIG: '', ...env }, timeout: 30_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout: string; stderr: string };
    return { code: e.code ?? -1, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(() => ensureBuilt(), 300_000);

describe('tessera operator with a kubeconfig it cannot use', () => {
  it('prints one line naming the missing file and the fix, without a stack trace', async () => {
    const res = await operator(['--kubeconfig', '/nonexistent']);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(
        /^tessera operator: kubeconfig \/nonexistent \(from --kubeconfig\) does not exist; pass the path of a kubeconfig file/,
      ),
    ]);
  });

  it('says a file that is not a kubeconfig is not one, and names KUBECONFIG when the path came from there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-kubeconfig-'));
    const bad = join(dir, 'config');
    writeFileSync(bad, 'clusters: [this is: not valid\n');
    const res = await operator([], { KUBECONFIG: bad });
    expect(res.code).toBe(1);
    expect(res.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(`^tessera operator: kubeconfig ${bad} \\(from KUBECONFIG\\) is not a valid kubeconfig`),
      ),
    ]);
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });
});
