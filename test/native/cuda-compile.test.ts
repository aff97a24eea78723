/**
 * The CUDA backend compiles without a GPU: scripts/setup.d/45-cuda builds libtessera_cuda.so whenever a
 * CUDA compiler is available (always in CI, which installs one from PyPI), and the library must export
 * every function its C ABI header declares. Nothing here needs a GPU or a driver.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cudaHeaderPath, cudaLibraryPath } from '../support/cuda-addon.js';

/** Function names declared with TESSERA_CUDA_API in the header. */
function declaredFunctions(header: string): string[] {
  const names = [...header.matchAll(/TESSERA_CUDA_API\s+[\w\s*]+?\b(tessera_cuda_\w+)\s*\(/g)].map(
    (m) => m[1]!,
  );
  return [...new Set(names)].sort();
}

/** Dynamic symbols the library defines (nm -D --defined-only). */
function exportedSymbols(library: string): Set<string> {
  const out = execFileSync('nm', ['-D', '--defined-only', library], { encoding: 'utf8' });
  return new Set(out.split('\n').map((line) => line.trim().split(/\s+/)[2] ?? ''));
}

const built = existsSync(cudaLibraryPath);
const compileRequired = Boolean(process.env.CI) || process.env.TESSERA_CUDA_COMPILE === '1';
if (!built && !compileRequired) {
  console.warn(
    `cuda-compile: skipped — ${cudaLibraryPath} was not built (no nvcc here; ` +
      'TESSERA_CUDA_COMPILE=1 ./scripts/setup installs one from PyPI and builds it)',
  );
}

describe('CUDA backend build', () => {
  it('parses the ABI header into the full list of entry points', () => {
    const names = declaredFunctions(readFileSync(cudaHeaderPath, 'utf8'));
    // A parse that silently finds nothing would make the export check below vacuous.
    expect(names).toContain('tessera_cuda_abi_version');
    expect(names).toContain('tessera_cuda_attention');
    expect(names).toContain('tessera_cuda_gemm');
    expect(names.length).toBeGreaterThanOrEqual(29);
  });

  it.runIf(built || compileRequired)(
    'libtessera_cuda.so exists and exports every function of tessera_cuda.h',
    () => {
      expect(
        existsSync(cudaLibraryPath),
        `${cudaLibraryPath} must be built when CI or TESSERA_CUDA_COMPILE=1`,
      ).toBe(true);
      const exported = exportedSymbols(cudaLibraryPath);
      const missing = declaredFunctions(readFileSync(cudaHeaderPath, 'utf8')).filter(
        (name) => !exported.has(name),
      );
      expect(missing).toEqual([]);
    },
  );

  it.runIf(built || compileRequired)(
    'links the CUDA runtime statically: needs no libcudart at run time',
    () => {
      const dynamic = execFileSync('readelf', ['-d', cudaLibraryPath], { encoding: 'utf8' });
      const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
      expect(needed.length).toBeGreaterThan(0);
      expect(needed.filter((lib) => /cudart|cublas|nccl|libcuda\./.test(lib))).toEqual([]);
    },
  );

  it.runIf(built || compileRequired)('carries device code for sm_80 and sm_90', () => {
    // The fat binary embeds each target's ELF; its architecture names are readable strings in the file.
    const bytes = readFileSync(cudaLibraryPath);
    const sections = execFileSync('readelf', ['-S', '-W', cudaLibraryPath], { encoding: 'utf8' });
    expect(sections).toMatch(/\.nv_fatbin/);
    expect(bytes.includes(Buffer.from('sm_80'))).toBe(true);
    expect(bytes.includes(Buffer.from('sm_90'))).toBe(true);
  });
});
