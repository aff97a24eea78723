// The kernel suite under every CPU kernel choice the dispatcher can make on this machine: each choice runs
// the kernel tests in a child process with TESSERA_CPU_KERNELS forced (the choice is made once per
// process). Choices this CPU cannot run must be refused with the reason, never crash or fall back.
import { execFile, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ops } from '../../src/runtime/native/index.js';

const root = resolve(import.meta.dirname, '../..');
const suite = ['test/native/kernels.test.ts', 'test/native/attention.test.ts', 'test/native/gemm.test.ts'];
const info = ops.cpuKernels();

/**
 * Asynchronous, so that this worker keeps answering vitest while a suite runs for minutes (a blocked
 * worker misses vitest's RPC deadline and the run ends in an error).
 */
function runWith(choice: string, args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      args,
      {
        cwd: root,
        env: { ...process.env, TESSERA_CPU_KERNELS: choice, TESSERA_LOG_LEVEL: 'warn', NO_COLOR: '1' },
        encoding: 'utf8',
        timeout: 300_000,
        maxBuffer: 16 << 20,
      },
      (err, stdout, stderr) => {
        const status = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        // biome-ignore lint/suspicious/noControlCharactersInRegex: strips the reporter's colour codes
        done({ status, output: `${stdout}${stderr}`.replace(/\x1b\[[0-9;]*m/g, '') });
      },
    );
  });
}

describe(`CPU kernel choices on this CPU (${info.cpu.features})`, () => {
  it.each(info.runnable)(
    '%s passes the kernel suite',
    async (choice) => {
      const { status, output } = await runWith(choice, [
        resolve(root, 'node_modules/vitest/vitest.mjs'),
        'run',
        ...suite,
        '--reporter=dot',
      ]);
      expect(status, output).toBe(0);
      expect(output).toMatch(/Tests\s+\d+ passed/);
    },
    320_000,
  ); // the child's own limit (300 s) ends a hung suite first, with its output

  // What the dispatcher knows but this CPU lacks (on a machine with every feature the list is empty).
  it.each(info.unavailable.length > 0 ? info.unavailable : ['(none)'])(
    'refuses a choice this CPU cannot run, naming what it needs: %s',
    async (entry) => {
      if (entry === '(none)') {
        expect(info.runnable).toEqual(expect.arrayContaining(['avx512', 'avx2', 'baseline', 'openblas']));
        return;
      }
      const choice = entry.split(':')[0] as string;
      const { status, output } = await runWith(choice, [
        '-e',
        'require(process.argv[1]).cpuKernels()',
        resolve(root, 'native/build/Release/tessera_native.node'),
      ]);
      expect(status).not.toBe(0);
      expect(output).toContain(`TESSERA_CPU_KERNELS=${choice}: this CPU cannot run it (it needs`);
    },
  );

  it('OpenBLAS with a core named by hand that this CPU cannot run is refused, not a crash (SIGILL)', () => {
    // SkylakeX needs AVX-512: refused where it is missing; on a CPU that has it, it must load.
    const hasAvx512 = info.cpu.features.includes('avx512f');
    const child = spawnSync(
      process.execPath,
      [
        '-e',
        'require(process.argv[1]).cpuKernels()',
        resolve(root, 'native/build/Release/tessera_native.node'),
      ],
      {
        cwd: root,
        env: { ...process.env, TESSERA_CPU_KERNELS: 'openblas', OPENBLAS_CORETYPE: 'SkylakeX' },
        encoding: 'utf8',
      },
    );
    if (hasAvx512) {
      expect(child.status, child.stderr).toBe(0);
    } else {
      expect(child.signal).toBeNull();
      expect(child.status).not.toBe(0);
      expect(child.stderr).toContain('OPENBLAS_CORETYPE=SkylakeX needs avx512f avx512bw avx512dq avx512vl');
    }
  });

  it('warns once, at start, when OpenBLAS runs another core than CPUID names (a slow core set by hand)', () => {
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', '-e', "import('./src/runtime/native/index.ts').then((m) => m.ops.numThreads())"],
      {
        cwd: root,
        env: {
          ...process.env,
          TESSERA_CPU_KERNELS: 'openblas',
          OPENBLAS_CORETYPE: 'Prescott',
          TESSERA_LOG_LEVEL: 'info',
        },
        encoding: 'utf8',
      },
    );
    expect(child.status, child.stderr).toBe(0);
    const lines = child.stdout
      .split('\n')
      .filter((l) => l.includes('"component":"cpu-kernels"'))
      .map((l) => JSON.parse(l) as { level: number; msg: string; reason: string });
    expect(lines).toHaveLength(1);
    expect(lines[0]?.level).toBe(40);
    expect(lines[0]?.msg).toBe('CPU kernels chosen: expect a slow CPU path');
    expect(lines[0]?.reason).toContain('OPENBLAS_CORETYPE=Prescott set by hand; CPUID names');
  });

  it('refuses a name that is no choice, listing the choices', async () => {
    const { status, output } = await runWith('avx3', [
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
