/**
 * scripts/gpu-check's parts that need no GPU: its argument checks, the carry bundle it builds here (what
 * is in it, its size with the working tree under the 64 MiB that travel to a GPU machine, its libraries),
 * that the bundled Node, addon, vitest and tsx start from an unpacked bundle, and that a run refuses a
 * machine without a GPU and a bundle built from other sources. The run itself is for a GPU machine.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addonPath, cudaLibraryPath, repoRoot } from '../support/cuda-addon.js';
import { cudaEmulation } from '../support/cuda-emulation.js';

const SCRIPT = join(repoRoot, 'scripts', 'gpu-check');
const CARRY_LIMIT = 64 * 1024 * 1024;

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the script without blocking the test worker (building a bundle takes minutes). */
function gpuCheck(args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      SCRIPT,
      args,
      {
        cwd: repoRoot,
        encoding: 'utf8',
        env: { ...process.env, ...env },
        timeout: 600_000,
        maxBuffer: 2 ** 24,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('scripts/gpu-check arguments', () => {
  it.each([
    [['--frobnicate'], "unknown argument '--frobnicate'"],
    [['--budget'], '--budget needs a number of seconds'],
    [['--budget', '30'], "--budget must be a whole number of seconds ≥ 60, got '30'"],
    [['--budget', '5m'], "--budget must be a whole number of seconds ≥ 60, got '5m'"],
    [['--only', 'all'], "--only must be tests or bench, got 'all'"],
    [['--only'], '--only needs tests or bench'],
    [['--bundle', '--keep'], '--bundle takes no other option'],
    [['--bundle', '--budget', '300'], '--bundle takes no other option'],
  ])('%j is refused with exit 2 and the usage', async (args, message) => {
    const r = await gpuCheck(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`gpu-check: ${message}`);
    expect(r.stderr).toContain('usage: scripts/gpu-check --bundle');
  });

  it('--help prints the usage and succeeds', async () => {
    const r = await gpuCheck(['--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('--budget SECONDS');
  });

  it('a run without a bundle says how to build one', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'tessera-gpu-check-none-'));
    try {
      const r = await gpuCheck([], { TESSERA_GPU_CHECK_BUNDLE: join(empty, 'bundle') });
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/no bundle at .*: build it with 'scripts\/gpu-check --bundle'/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

const prerequisites = [addonPath, cudaLibraryPath, join(repoRoot, 'dist', 'cli', 'main.js')];
const missing = prerequisites.filter((p) => !existsSync(p));
if (missing.length > 0) {
  console.warn(
    `cuda-gpu-check: bundle tests skipped — not built here: ${missing.join(', ')} ` +
      '(TESSERA_CUDA_COMPILE=1 ./scripts/setup builds them)',
  );
}

interface Manifest {
  node: string;
  sourceKey: string;
  headers: string;
  libraries: string[];
  files: Record<string, { bytes: number; sha256: string }>;
}

/** Libraries the addon resolves outside the C/C++ runtime (what the bundle must carry). */
function addonLibraries(env: Record<string, string> = {}): Map<string, string> {
  const out = execFileSync('ldd', [addonPath], { encoding: 'utf8', env: { ...process.env, ...env } });
  const libs = new Map<string, string>();
  for (const m of out.matchAll(/^\s*(\S+) => (\S+)/gm)) {
    const [, name, path] = m as unknown as [string, string, string];
    if (!/^(libc|libm|libstdc\+\+|libgcc_s|libpthread|libdl|librt)\.so|^ld-linux/.test(name))
      libs.set(name, path);
  }
  return libs;
}

describe.runIf(missing.length === 0)('the carry bundle (scripts/gpu-check --bundle)', () => {
  let scratch = '';
  let bundle = '';
  let unpacked = '';
  let printed = '';
  let manifest: Manifest;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'tessera-gpu-check-'));
    bundle = join(scratch, 'bundle');
    const r = await gpuCheck(['--bundle'], { TESSERA_GPU_CHECK_BUNDLE: bundle });
    expect(r.code, r.stderr).toBe(0);
    printed = r.stdout;
    manifest = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8')) as Manifest;
    unpacked = join(scratch, 'unpacked');
    mkdirSync(join(unpacked, 'bin'), { recursive: true });
    execFileSync('tar', ['-xJf', join(bundle, 'runtime.tar.xz'), '-C', unpacked]);
    execFileSync('bash', [
      '-c',
      'xz -dc "$1" >"$2" && chmod 755 "$2"',
      '-',
      join(bundle, 'node.xz'),
      join(unpacked, 'bin', 'node'),
    ]);
  }, 900_000);
  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('holds Node, the runtime archive and the diffusers wheel, each as the manifest lists it', () => {
    expect(Object.keys(manifest.files).sort()).toEqual([
      'node.xz',
      'runtime.tar.xz',
      expect.stringMatching(/^wheels\/diffusers-0\.42\.1-py3-none-any\.whl$/),
    ]);
    for (const [file, entry] of Object.entries(manifest.files)) {
      const data = readFileSync(join(bundle, file));
      expect(data.length, file).toBe(entry.bytes);
      expect(createHash('sha256').update(data).digest('hex'), file).toBe(entry.sha256);
    }
    expect(manifest.node).toBe(process.versions.node);
    expect(manifest.sourceKey).toMatch(/^[0-9a-f]{16}$/);
    expect(manifest.headers).toMatch(/^headers-[0-9a-f]{12}$/);
  });

  it('with the working tree, stays under the 64 MiB that travel', () => {
    const files = execFileSync(
      'bash',
      ['-c', '{ git ls-files -z; git ls-files -z --others --exclude-standard; } | xargs -0 -r stat -c %s'],
      { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    const tree = files
      .split('\n')
      .filter(Boolean)
      .reduce((sum, n) => sum + Number(n), 0);
    const bundleBytes = Object.values(manifest.files).reduce((sum, f) => sum + f.bytes, 0);
    const total = tree + bundleBytes + statSync(join(bundle, 'manifest.json')).size;
    console.log(
      `cuda-gpu-check: tree ${(tree / 2 ** 20).toFixed(1)} MiB + bundle ${(bundleBytes / 2 ** 20).toFixed(1)} MiB = ${(total / 2 ** 20).toFixed(1)} MiB of 64`,
    );
    expect(total).toBeLessThan(CARRY_LIMIT);
    expect(printed).toMatch(/working tree \d+ bytes \+ bundle \d+ bytes = \d+ bytes \(limit 67108864\)/);
  });

  it('carries the addon, libtessera_cuda.so, dist/, the node_modules the run loads and the CUDA headers', () => {
    for (const path of [
      'native/build/Release/tessera_native.node',
      'native/cuda/build/libtessera_cuda.so',
      'dist/cli/main.js',
      'dist/runtime/native/index.js',
      'node_modules/vitest/vitest.mjs',
      'node_modules/tsx/package.json',
      'node_modules/pino/package.json',
      'node_modules/esbuild/package.json',
      `${manifest.headers}/include/cudnn_frontend.h`,
      `${manifest.headers}/nvidia/cudnn/include/cudnn.h`,
    ]) {
      expect(existsSync(join(unpacked, path)), path).toBe(true);
    }
    // Dev tools the run never loads stay behind (they would only eat the size budget).
    expect(existsSync(join(unpacked, 'node_modules/@biomejs'))).toBe(false);
    expect(existsSync(join(unpacked, 'node_modules/typescript'))).toBe(false);
  });

  it("carries every library the addon needs beyond the C/C++ runtime, and the addon resolves them from the bundle's lib/", () => {
    const needed = addonLibraries();
    expect(needed.size).toBeGreaterThan(0);
    expect([...manifest.libraries].sort()).toEqual([...needed.keys()].sort());
    const fromBundle = addonLibraries({ LD_LIBRARY_PATH: join(unpacked, 'lib') });
    for (const [name, path] of fromBundle) {
      expect(path, `${name} resolves from the bundle`).toBe(join(unpacked, 'lib', name));
    }
    // gloo (and OpenBLAS, where the addon links it dynamically) is what a stock CUDA image lacks.
    expect(manifest.libraries).toContain('libgloo.so.0');
  });

  it('the bundled Node starts, loads the addon with the bundled libraries and runs vitest and tsx', () => {
    const node = join(unpacked, 'bin', 'node');
    const env = { ...process.env, LD_LIBRARY_PATH: join(unpacked, 'lib') };
    expect(execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()).toBe(process.version);
    const status = JSON.parse(
      execFileSync(
        node,
        [
          '-e',
          `const a = require(${JSON.stringify(join(unpacked, 'native/build/Release/tessera_native.node'))});
           console.log(JSON.stringify({ status: a.cudaStatus(), libraries: Object.keys(a.cudaLibraries()) }));`,
        ],
        { encoding: 'utf8', env },
      ),
    ) as { status: { available: boolean; reason?: string }; libraries: string[] };
    expect(typeof status.status.available).toBe('boolean');
    if (!status.status.available) expect(status.status.reason).toBeTruthy();
    expect(status.libraries).toEqual(expect.arrayContaining(['cublas', 'cublasLt', 'cudnn', 'nccl']));
    const vitest = execFileSync(node, [join(unpacked, 'node_modules/vitest/vitest.mjs'), '--version'], {
      cwd: unpacked,
      encoding: 'utf8',
      env,
    });
    expect(vitest).toMatch(/vitest\/\d+\.\d+\.\d+/);
    writeFileSync(join(unpacked, 'typed.ts'), 'const n: number = 6 * 7;\nconsole.log(n);\n');
    const tsx = execFileSync(node, ['--import', 'tsx', 'typed.ts'], {
      cwd: unpacked,
      encoding: 'utf8',
      env,
    });
    expect(tsx.trim()).toBe('42');
  });

  it.skipIf(existsSync('/usr/bin/nvidia-smi'))(
    'a run on a machine without a GPU stops and says so',
    async () => {
      const r = await gpuCheck([], { TESSERA_GPU_CHECK_BUNDLE: bundle });
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(
        /gpu-check: no NVIDIA GPU here \(nvidia-smi not found\); run it on a GPU machine/,
      );
    },
  );

  it('a run refuses a bundle built from other native sources', async () => {
    const stale = join(scratch, 'stale');
    mkdirSync(stale);
    writeFileSync(join(stale, 'manifest.json'), JSON.stringify({ ...manifest, sourceKey: '0'.repeat(16) }));
    const r = await gpuCheck([], { TESSERA_GPU_CHECK_BUNDLE: stale });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('the bundle was built from other native sources than this tree');
  });
});

describe('the step benchmark (bench/gpu-step.ts) on the CUDA emulation', () => {
  it('builds its bf16 weights on the device, runs the Flux forward there with no copy per step, and prints its table', async () => {
    const env = cudaEmulation().env();
    const out = await new Promise<Outcome>((resolveRun) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', join(repoRoot, 'bench', 'gpu-step.ts')],
        {
          cwd: repoRoot,
          encoding: 'utf8',
          env: { ...process.env, ...env, BENCH_SHAPE: 'tiny', BENCH_RUNS: '2', TESSERA_LOG_LEVEL: 'warn' },
          timeout: 120_000,
        },
        (error, stdout, stderr) =>
          resolveRun({ code: error === null ? 0 : Number(error.code ?? -1), stdout, stderr }),
      );
    });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain('2 double + 4 single blocks, 16 image + 8 text tokens, bf16');
    expect(out.stdout).toContain(
      'attention: cuDNN flash attention; host↔device copies in 2 steps after warm-up: 0',
    );
    expect(out.stdout).toMatch(/double block +tessera +\d+\.\d{3} ms/);
    expect(out.stdout).toMatch(/single block +tessera +\d+\.\d{3} ms/);
    expect(out.stdout).toContain('diffusers: skipped (BENCH_SHAPE=tiny has no diffusers counterpart)');
  });

  it('refuses a bad setting by name', async () => {
    const r = spawnBench({ BENCH_RUNS: '0' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("BENCH_RUNS must be a whole number ≥ 1, got '0'");
  });
});

function spawnBench(env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'bench', 'gpu-step.ts')], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
}
