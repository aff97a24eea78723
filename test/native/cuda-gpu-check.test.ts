/**
 * scripts/gpu-check's parts that need no GPU: its argument checks, the carry bundle it builds here (what
 * is in it, its size with the working tree under the 64 MiB that travel to a GPU machine, its libraries),
 * that the bundled Node, addon, vitest and tsx start from an unpacked bundle, and that a run refuses a
 * machine without a GPU and a bundle built from other sources. The run itself is for a GPU machine.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
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
function gpuCheck(args: string[], env: Record<string, string> = {}, script = SCRIPT): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      script,
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

/**
 * The files a GPU machine's pip-installed CUDA 13 stack puts where, as `unzip -l` lists them in the wheels
 * PyTorch 2.11.0 (cu130) pins: nvidia-cublas 13.1.0.3, nvidia-cuda-runtime 13.0.96 (cuda-toolkit 13.0.2),
 * nvidia-cudnn-cu13 9.19.0.56, nvidia-nccl-cu13 2.28.9. cuBLAS and cudart share nvidia/cu13/lib; cuDNN
 * and NCCL keep their own folders. Values: the soname a fake of the file is built with, and what it links.
 */
const CU13_WHEEL_LAYOUT: Record<string, { needs?: string }> = {
  'nvidia/cu13/lib/libcublasLt.so.13': {},
  'nvidia/cu13/lib/libcublas.so.13': { needs: 'libcublasLt.so.13' },
  'nvidia/cu13/lib/libcudart.so.13': {},
  'nvidia/cudnn/lib/libcudnn_graph.so.9': {},
  'nvidia/cudnn/lib/libcudnn.so.9': {},
  'nvidia/nccl/lib/libnccl.so.2': {},
};

/** Builds a fake site-packages with the wheels' layout: each library a tiny .so with the real soname. */
function fakeSitePackages(root: string): void {
  mkdirSync(root, { recursive: true });
  const source = join(root, '..', 'fake.c');
  writeFileSync(source, 'int tessera_fake_library(void) { return 1; }\n');
  for (const [relative, { needs }] of Object.entries(CU13_WHEEL_LAYOUT)) {
    const path = join(root, relative);
    const dir = join(path, '..');
    mkdirSync(dir, { recursive: true });
    const soname = relative.split('/').pop() as string;
    // Like the real libcublas.so.13: it finds libcublasLt beside it through RUNPATH $ORIGIN.
    const link = needs ? ['-L', dir, `-l:${needs}`, '-Wl,--enable-new-dtags,-rpath,$ORIGIN'] : [];
    execFileSync('cc', ['-shared', '-fPIC', `-Wl,-soname,${soname}`, '-o', path, source, ...link]);
  }
  // Folders that hold no library are not put on the loader's path.
  mkdirSync(join(root, 'nvidia', 'cu13', 'include'), { recursive: true });
  writeFileSync(join(root, 'nvidia', 'cu13', 'include', 'cublasLt.h'), '');
  mkdirSync(join(root, 'nvidia', 'cuda_cccl', 'lib'), { recursive: true });
}

describe("the lookup of a GPU machine's pip-installed CUDA libraries", () => {
  let scratch = '';
  let site = '';
  let probe = '';
  const run = (command: string, args: string[], env: Record<string, string>) =>
    execFileSync(command, args, { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, ...env } });

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'tessera-gpu-libs-'));
    site = join(scratch, 'site-packages');
    fakeSitePackages(site);
    probe = join(scratch, 'library-probe');
    // The backend's own lookup (native/cuda/src/libraries.cc) is plain C++: built here without nvcc.
    execFileSync('c++', [
      '-std=c++17',
      `-I${join(repoRoot, 'native', 'cuda', 'include')}`,
      join(repoRoot, 'tools', 'gpu', 'library_probe.cc'),
      join(repoRoot, 'native', 'cuda', 'src', 'libraries.cc'),
      '-ldl',
      '-o',
      probe,
    ]);
  }, 120_000);
  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  function libraryDirs(): string[] {
    const out = run('python3', [join(repoRoot, 'tools', 'gpu', 'nvidia_library_dirs.py')], {
      PYTHONPATH: site,
    });
    return out.trim().split(':').filter(Boolean);
  }

  it("scripts/gpu-check's folder list names every wheel folder that holds libraries, and only those", () => {
    expect(libraryDirs()).toEqual([
      join(site, 'nvidia', 'cu13', 'lib'),
      join(site, 'nvidia', 'cudnn', 'lib'),
      join(site, 'nvidia', 'nccl', 'lib'),
    ]);
  });

  it('with those folders on LD_LIBRARY_PATH, the backend finds cuBLAS 13, cuBLASLt 13, cuDNN 9, NCCL 2 and cudart 13 at the wheel paths', () => {
    const out = run(probe, [], { LD_LIBRARY_PATH: libraryDirs().join(':') });
    const found = Object.fromEntries(
      out
        .trim()
        .split('\n')
        .map((line) => line.split(' ', 2) as [string, string]),
    );
    expect(found).toEqual({
      cublas: join(site, 'nvidia/cu13/lib/libcublas.so.13'),
      cublasLt: join(site, 'nvidia/cu13/lib/libcublasLt.so.13'),
      cudnn: join(site, 'nvidia/cudnn/lib/libcudnn.so.9'),
      nccl: join(site, 'nvidia/nccl/lib/libnccl.so.2'),
      cudart: join(site, 'nvidia/cu13/lib/libcudart.so.13'),
    });
  });

  it('without them, each missing library is named with every soname tried and how to point at it', () => {
    const out = run(probe, [], { LD_LIBRARY_PATH: join(scratch, 'nothing-here') });
    expect(out).toContain(
      'cublas missing: cuBLAS not found (libcublas.so.13: cannot open shared object file',
    );
    expect(out).toContain('libcublas.so.12: cannot open shared object file');
    expect(out).toContain('put its folder on LD_LIBRARY_PATH, or set TESSERA_CUBLAS_LIB');
    expect(out).toMatch(/cudnn missing: cuDNN not found \(libcudnn\.so\.9: .*or set TESSERA_CUDNN_LIB/);
    expect(out).toMatch(/nccl missing: libnccl\.so\.2: cannot open shared object file/);
  });
});

describe("the C/C++ runtime versions carried binaries need, against the GPU machine's image", () => {
  const check = (args: string[]) =>
    spawnSync('python3', [join(repoRoot, 'tools', 'gpu', 'check_symbol_versions.py'), ...args], {
      cwd: repoRoot,
      encoding: 'utf8',
    });

  it('refuses a library that needs a newer glibc than the ceiling, naming the file and the version', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'tessera-symver-'));
    try {
      const source = join(scratch, 'uses-libc.c');
      writeFileSync(source, '#include <stdio.h>\nint say(void) { return puts("hi"); }\n');
      const lib = join(scratch, 'libuses-libc.so');
      execFileSync('cc', ['-shared', '-fPIC', '-o', lib, source]);
      // x86-64's first glibc symbol version is GLIBC_2.2.5: a ceiling below it refuses any libc user.
      const refused = check(['--ceiling', 'GLIBC=2.2.4', lib]);
      expect(refused.status).toBe(1);
      expect(refused.stdout).toMatch(
        new RegExp(
          `${lib.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} needs GLIBC_2\\.2\\.5, newer than the GPU image's GLIBC_2\\.2\\.4`,
        ),
      );
      const accepted = check([lib]);
      expect(accepted.status, accepted.stdout).toBe(0);
      expect(accepted.stdout).toContain('symbol versions: 1 files within GLIBC_2.35, GLIBCXX_3.4.30');
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it.runIf(existsSync(addonPath) && existsSync(cudaLibraryPath))(
    'the addon, libtessera_cuda.so and the libraries the bundle carries need nothing newer than Ubuntu 22.04 has',
    () => {
      const r = check([addonPath, cudaLibraryPath, ...addonLibraries().values()]);
      expect(r.stdout.trim(), r.stderr).toMatch(
        /^symbol versions: \d+ files within GLIBC_2\.35, GLIBCXX_3\.4\.30/,
      );
      expect(r.status).toBe(0);
    },
  );
});

describe.runIf(existsSync(cudaLibraryPath))('the GPU code libtessera_cuda.so carries', () => {
  it('holds sm_90 machine code for the H200 and compute_90 PTX, as 45-cuda asks nvcc for', () => {
    const tool = join(repoRoot, 'tools', 'gpu', 'fatbin_targets.py');
    const r = spawnSync('python3', [tool, cudaLibraryPath, '--require', 'sass:90', '--require', 'ptx:90'], {
      encoding: 'utf8',
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^sass sm_90 \d+$/m);
    expect(r.stdout).toMatch(/^ptx compute_90 \d+$/m);
    // A target it was not built for is reported missing: the reading is not vacuous.
    const absent = spawnSync('python3', [tool, cudaLibraryPath, '--require', 'sass:100'], {
      encoding: 'utf8',
    });
    expect(absent.status).toBe(1);
    expect(absent.stdout).toContain('lacks sass sm_100');
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

  it('checked the symbol versions of what it carries', () => {
    expect(printed).toMatch(/symbol versions: \d+ files within GLIBC_2\.35, GLIBCXX_3\.4\.30/);
  });

  it('a run on a GPU machine where the CUDA backend cannot start still reports every part, ends with the summary and keeps its log', async () => {
    // A copy of what the run reads from the tree, so that unpacking the bundle leaves this checkout alone;
    // a stand-in nvidia-smi gets it past the GPU check, and this machine's missing driver stops the backend.
    const tree = join(scratch, 'tree');
    for (const path of ['scripts/gpu-check', 'scripts/lib.sh', 'tools/gpu']) {
      cpSync(join(repoRoot, path), join(tree, path), { recursive: true });
    }
    cpSync(join(repoRoot, 'native'), join(tree, 'native'), {
      recursive: true,
      filter: (source) => !/\/native\/(cuda\/)?build(\/|$)/.test(source),
    });
    // A README under native/ builds nothing: editing one after the bundle was built must not void it.
    writeFileSync(join(tree, 'native', 'cuda', 'README.md'), '\nedited after the bundle\n', { flag: 'a' });
    const fakeBin = join(scratch, 'fake-bin');
    mkdirSync(fakeBin, { recursive: true });
    writeFileSync(
      join(fakeBin, 'nvidia-smi'),
      '#!/bin/sh\ncase "$*" in *-L*) echo "GPU 0: Stand-in GPU (UUID: GPU-0)" ;; *) echo "Stand-in GPU, 580.159.04, 143771 MiB" ;; esac\n',
      { mode: 0o755 },
    );
    // Where ld.so's cache lacks libcuda.so.1, the run adds the folder that holds it (here a stand-in file
    // that does not load, so the backend still stops).
    const driverDir = join(scratch, 'driver');
    mkdirSync(driverDir, { recursive: true });
    writeFileSync(join(driverDir, 'libcuda.so.1'), '');
    const cachedDriver =
      spawnSync('bash', ['-c', "ldconfig -p 2>/dev/null | grep -q 'libcuda\\.so\\.1 '"]).status === 0;
    const logs = join(scratch, 'logs');
    const work = join(scratch, 'tmp');
    mkdirSync(work, { recursive: true });
    const r = await gpuCheck(
      ['--budget', '120'],
      {
        TESSERA_GPU_CHECK_BUNDLE: bundle,
        TESSERA_GPU_CHECK_LOG_DIR: logs,
        TMPDIR: work,
        TESSERA_GPU_CHECK_DRIVER_DIRS: `${join(scratch, 'nothing-here')}:${driverDir}`,
        PATH: `${fakeBin}:${process.env.PATH ?? ''}`,
      },
      join(tree, 'scripts', 'gpu-check'),
    );
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain('gpu-check: Stand-in GPU, 580.159.04, 143771 MiB');
    expect(r.stdout).toMatch(/gpu-check: CUDA backend unusable: /);
    expect(r.stdout).toMatch(/gpu-check: LD_LIBRARY_PATH=\S*\/tessera-gpu-check\/lib/);
    if (!cachedDriver) {
      expect(r.stdout).toMatch(new RegExp(`gpu-check: LD_LIBRARY_PATH=\\S*:${driverDir}(:|$)`, 'm'));
      expect(r.stdout).not.toContain('nothing-here');
    }
    const lines = r.stdout.trimEnd().split('\n');
    const summary = lines.findIndex((line) => line.startsWith('gpu-check summary ('));
    expect(summary, r.stdout).toBeGreaterThan(0);
    const table = lines.slice(summary + 1);
    for (const part of ['cuda-kernels', 'library-paths', 'gpu-step', 'denoise-on-device']) {
      expect(table, part).toContainEqual(expect.stringMatching(new RegExp(`^  SKIP  ${part} \\(`)));
    }
    // Nothing but the table follows the summary's heading: the reply of a lent machine keeps the tail.
    for (const line of table) expect(line).toMatch(/^ {2}\S/);
    const log = readFileSync(join(logs, 'gpu-check.log'), 'utf8');
    expect(log).toContain('gpu-check: unpacking the bundle');
    expect(log.trimEnd().endsWith(lines.at(-1) as string)).toBe(true);
    expect(readFileSync(join(logs, 'summary.txt'), 'utf8')).toContain('gpu-check summary (');
  }, 300_000);

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
