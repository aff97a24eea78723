// The kernel suite under every CPU kernel choice the dispatcher can make on this machine: each choice runs
// the kernel tests in a child process with TESSERA_CPU_KERNELS forced (the choice is made once per
// process). Choices this CPU cannot run must be refused with the reason, never crash or fall back.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ops } from '../../src/runtime/native/index.js';

const root = resolve(import.meta.dirname, '../..');
const suite = ['test/native/kernels.test.ts', 'test/native/attention.test.ts', 'test/native/gemm.test.ts'];
const info = ops.cpuKernels();

function runWith(choice: string, args: string[]): { status: number | null; output: string } {
  const child = spawnSync(process.execPath, args, {
    cwd: root,
    env: { ...process.env, TESSERA_CPU_KERNELS: choice, TESSERA_LOG_LEVEL: 'warn', NO_COLOR: '1' },
    encoding: 'utf8',
    timeout: 300_000,
  });
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips the reporter's colour codes
  const output = `${child.stdout}${child.stderr}`.replace(/\x1b\[[0-9;]*m/g, '');
  return { status: child.status, output };
}

describe(`CPU kernel choices on this CPU (${info.cpu.features})`, () => {
  it.each(info.runnable)('%s passes the kernel suite', (choice) => {
    const { status, output } = runWith(choice, [
      resolve(root, 'node_modules/vitest/vitest.mjs'),
      'run',
      ...suite,
      '--reporter=dot',
    ]);
    expect(status, output).toBe(0);
    expect(output).toMatch(/Tests\s+\d+ passed/);
  });

  // What the dispatcher knows but this CPU lacks (on a machine with every feature the list is empty).
  it.each(info.unavailable.length > 0 ? info.unavailable : ['(none)'])(
    'refuses a choice this CPU cannot run, naming what it needs: %s',
    (entry) => {
      if (entry === '(none)') {
        expect(info.runnable).toEqual(expect.arrayContaining(['avx512', 'avx2', 'baseline', 'openblas']));
        return;
      }
      const choice = entry.split(':')[0] as string;
      const { status, output } = runWith(choice, [
        '-e',
        'require(process.argv[1]).cpuKernels()',
        resolve(root, 'native/build/Release/tessera_native.node'),
      ]);
      expect(status).not.toBe(0);
      expect(output).toContain(`TESSERA_CPU_KERNELS=${choice}: this CPU cannot run it (it needs`);
    },
  );

  it('refuses a name that is no choice, listing the choices', () => {
    const { status, output } = runWith('avx3', [
      '-e',
      'require(process.argv[1]).cpuKernels()',
      resolve(root, 'native/build/Release/tessera_native.node'),
    ]);
    expect(status).not.toBe(0);
    expect(output).toContain(
      "TESSERA_CPU_KERNELS='avx3' is not a kernel choice; use one of: auto, avx512, avx2",
    );
  });
});
