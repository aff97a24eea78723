/**
 * Builds the host emulation of the CUDA backend (test/native/cuda-emulation/host_backend.cc) and the fake
 * libcuda.so.1 (test/native/comm/fake-gpu) into a folder keyed by their sources, and gives the
 * environment a child process needs to run the addon's 'cuda' side on them. The dynamic loader reads
 * LD_LIBRARY_PATH at process start, so the emulation only works in a child started with this env.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './cuda-addon.js';

const SOURCES = {
  backend: join(repoRoot, 'test', 'native', 'cuda-emulation', 'host_backend.cc'),
  driver: join(repoRoot, 'test', 'native', 'comm', 'fake-gpu', 'fake_cuda.c'),
  nccl: join(repoRoot, 'test', 'native', 'comm', 'fake-gpu', 'fake_nccl.c'),
  header: join(repoRoot, 'native', 'cuda', 'include', 'tessera_cuda.h'),
};

export interface CudaEmulation {
  dir: string;
  /** Environment for a child: the emulated backend, the fake driver and (with nccl) the fake NCCL. */
  env(options?: { nccl?: boolean }): Record<string, string>;
}

function build(target: string, args: string[]): void {
  const partial = `${target}.partial-${process.pid}`;
  execFileSync(args[0] as string, [...args.slice(1), '-o', partial], { stdio: 'pipe' });
  renameSync(partial, target);
}

export function cudaEmulation(): CudaEmulation {
  const key = createHash('sha256')
    .update(
      Object.values(SOURCES)
        .map((p) => readFileSync(p))
        .join('\0'),
    )
    .digest('hex')
    .slice(0, 16);
  const dir = join(tmpdir(), `tessera-cuda-emulation-${key}`);
  const backend = join(dir, 'libtessera_cuda_emulated.so');
  const driverDir = join(dir, 'driver');
  const ncclDir = join(dir, 'nccl');
  mkdirSync(driverDir, { recursive: true });
  mkdirSync(ncclDir, { recursive: true });
  if (!existsSync(backend)) {
    build(backend, [
      'c++',
      '-std=c++17',
      '-shared',
      '-fPIC',
      '-O1',
      `-I${join(repoRoot, 'native', 'cuda', 'include')}`,
      SOURCES.backend,
    ]);
  }
  if (!existsSync(join(driverDir, 'libcuda.so.1'))) {
    build(join(driverDir, 'libcuda.so.1'), ['cc', '-shared', '-fPIC', '-O1', SOURCES.driver]);
  }
  if (!existsSync(join(ncclDir, 'libnccl.so.2'))) {
    build(join(ncclDir, 'libnccl.so.2'), ['cc', '-shared', '-fPIC', '-O1', SOURCES.nccl]);
  }
  return {
    dir,
    env: (options = {}) => ({
      TESSERA_CUDA_LIB: backend,
      LD_LIBRARY_PATH: [driverDir, ...(options.nccl ? [ncclDir] : []), process.env.LD_LIBRARY_PATH ?? '']
        .filter(Boolean)
        .join(':'),
    }),
  };
}
