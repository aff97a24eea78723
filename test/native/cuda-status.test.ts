/**
 * Asking for CUDA where it cannot work gives a clear reason instead of a crash: cudaStatus() says why,
 * and running a kernel fails with "device 'cuda' is not available: <reason>". On a GPU machine the same
 * status lists the devices. The "library not built" and "TESSERA_CUDA_LIB wrong" cases run in child
 * processes, because the addon decides once per process.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addonPath, type CudaStatus, cudaLibraryPath, loadCudaAddon } from '../support/cuda-addon.js';

const addon = loadCudaAddon();
if (typeof addon === 'string') console.warn(`cuda-status: skipped — ${addon}`);

/** Whether the dynamic loader can find a CUDA driver library here; undefined when ldconfig cannot say. */
function driverInstalled(): boolean | undefined {
  for (const ldconfig of ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    try {
      const cache = execFileSync(ldconfig, ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      return /\blibcuda\.so\.1\b/.test(cache) || Boolean(process.env.LD_LIBRARY_PATH?.includes('cuda'));
    } catch {
      // not on PATH under this name: try the next
    }
  }
  return undefined;
}

/** cudaStatus() of a fresh process that loads the addon from `addonFile` with extra environment. */
function statusInChild(addonFile: string, env: Record<string, string>): CudaStatus {
  const script = `process.stdout.write(JSON.stringify(require(${JSON.stringify(addonFile)}).cudaStatus()))`;
  const out = execFileSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return JSON.parse(out) as CudaStatus;
}

const scratch = mkdtempSync(join(tmpdir(), 'tessera-cuda-status-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe.skipIf(typeof addon === 'string')('cudaStatus', () => {
  const native = addon as Exclude<typeof addon, string>;

  it('names the first missing piece, or lists the devices', () => {
    const status = native.cudaStatus();
    expect(status.library).toMatch(/libtessera_cuda\.so$/);
    if (status.available) {
      expect(status.reason).toBeNull();
      expect(status.devices.length).toBeGreaterThan(0);
      expect(status.devices[0]!.computeCapability).toMatch(/^\d+\.\d+$/);
    } else if (!existsSync(cudaLibraryPath)) {
      expect(status.reason).toMatch(/^libtessera_cuda\.so was not built \(no nvcc\)/);
    } else if (driverInstalled() === false) {
      expect(status.reason).toMatch(/^no CUDA driver \(libcuda\.so\.1 not found/);
    } else {
      expect(status.reason).toMatch(
        /^(no CUDA driver \(libcuda\.so\.1 not found|no CUDA device$|CUDA driver unusable: )/,
      );
    }
    if (!status.available) expect(status.devices).toEqual([]);
  });

  it('refuses to run a kernel without CUDA, repeating the reason', () => {
    const status = native.cudaStatus();
    const run = () => native.cudaKernelOnHost('silu', [new Float32Array(4), new Float32Array(4)], []);
    if (status.available) {
      expect(run).not.toThrow();
    } else {
      expect(run).toThrow(`device 'cuda' is not available: ${status.reason}`);
    }
  });

  it('rejects bad arguments before touching a device', () => {
    expect(() => native.cudaKernelOnHost('no_such_op', [], [])).toThrow("unknown op 'no_such_op'");
    expect(() =>
      native.cudaKernelOnHost(
        'silu',
        [new Int32Array(4) as unknown as Float32Array, new Float32Array(4)],
        [],
      ),
    ).toThrow(TypeError);
  });

  it('says the library was not built when the addon finds no build next to it', () => {
    // A copy of the addon two folders deep in a scratch dir has no native/cuda/build/ beside it.
    const dir = join(scratch, 'build', 'Release');
    mkdirSync(dir, { recursive: true });
    const copy = join(dir, 'tessera_native.node');
    copyFileSync(addonPath, copy);
    const status = statusInChild(copy, { TESSERA_CUDA_LIB: '' });
    expect(status.available).toBe(false);
    expect(status.reason).toBe(
      `libtessera_cuda.so was not built (no nvcc): expected at ${status.library}; ` +
        'build it with TESSERA_CUDA_COMPILE=1 ./scripts/setup',
    );
  });

  it('names TESSERA_CUDA_LIB when it points at nothing', () => {
    const missing = join(scratch, 'nowhere', 'libtessera_cuda.so');
    const status = statusInChild(addonPath, { TESSERA_CUDA_LIB: missing });
    expect(status).toMatchObject({ available: false, library: missing });
    expect(status.reason).toBe(`TESSERA_CUDA_LIB points to ${missing}, which does not exist`);
  });
});
