/**
 * The CUDA backend compiles without a GPU: scripts/setup.d/45-cuda builds libtessera_cuda.so whenever a
 * CUDA compiler is available (always in CI, which installs one from PyPI), and the library must export
 * every function its C ABI header declares. Nothing here needs a GPU or a driver.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cudaHeaderPath, cudaLibraryPath, repoRoot } from '../support/cuda-addon.js';

/** Function names declared with TESSERA_CUDA_API in the header. */
function declaredFunctions(header: string): string[] {
  const names = [...header.matchAll(/TESSERA_CUDA_API\s+[\w\s*]+?\b(tessera_cuda_\w+)\s*\(/g)].map(
    (m) => m[1]!,
  );
  return [...new Set(names)].sort();
}

/** The C ABI entry points the addon's loader resolves (TESSERA_CUDA_RESOLVE lines of cuda_loader.cc). */
function resolvedByLoader(): string[] {
  const loader = readFileSync(join(repoRoot, 'native', 'src', 'cuda', 'cuda_loader.cc'), 'utf8');
  return [...loader.matchAll(/^\s*TESSERA_CUDA_RESOLVE\((\w+)\)\s*$/gm)]
    .map((m) => `tessera_cuda_${m[1]}`)
    .sort();
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
    expect(names).toContain('tessera_cuda_linear');
    expect(names).toContain('tessera_cuda_attention_cudnn');
    expect(names.length).toBeGreaterThanOrEqual(45);
  });

  it('the addon resolves exactly the functions the header declares', () => {
    // A function declared but never resolved is dead ABI; one resolved but not declared would fail to
    // load on every GPU machine.
    expect(resolvedByLoader()).toEqual(declaredFunctions(readFileSync(cudaHeaderPath, 'utf8')));
  });

  it.runIf(built || compileRequired)(
    'libtessera_cuda.so exists and exports every function of tessera_cuda.h',
    () => {
      expect(
        existsSync(cudaLibraryPath),
        `${cudaLibraryPath} must be built when CI or TESSERA_CUDA_COMPILE=1`,
      ).toBe(true);
      const exported = exportedSymbols(cudaLibraryPath);
      const declared = declaredFunctions(readFileSync(cudaHeaderPath, 'utf8'));
      expect(declared.filter((name) => !exported.has(name))).toEqual([]);
      // Nothing else leaks out: -fvisibility=hidden keeps cuDNN frontend and CUDA runtime symbols inside.
      const extra = [...exported].filter((name) => name.startsWith('tessera_') && !declared.includes(name));
      expect(extra).toEqual([]);
      expect([...exported].filter((name) => /^(cudnn|cublas|cuda[A-Z]|nccl)/.test(name))).toEqual([]);
    },
  );

  it.runIf(built || compileRequired)(
    'links the CUDA runtime statically and no NVIDIA library: cuBLAS(Lt), cuDNN and NCCL are dlopened',
    () => {
      const dynamic = execFileSync('readelf', ['-d', cudaLibraryPath], { encoding: 'utf8' });
      const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
      expect(needed.length).toBeGreaterThan(0);
      expect(needed.filter((lib) => /cudart|cublas|cudnn|nccl|nvrtc|libcuda\./.test(lib))).toEqual([]);
    },
  );

  it.runIf(built)('loads without a GPU and answers through its C ABI with statuses, not crashes', () => {
    // python3's ctypes is the smallest C caller at hand (Debian's python3 is a setup dependency).
    const script = `
import ctypes, json, sys
lib = ctypes.CDLL(sys.argv[1])
lib.tessera_cuda_last_error.restype = ctypes.c_char_p
err = lambda: lib.tessera_cuda_last_error().decode()
S, P, F = ctypes.c_size_t, ctypes.c_void_p, ctypes.c_float
count = ctypes.c_int(-1)
device_status = lib.tessera_cuda_device_count(ctypes.byref(count))
device_error = err()
attention = lib.tessera_cuda_attention(P(1), P(1), P(1), P(1), None, S(1), S(4), S(4), S(2), S(300), F(1.0), 0, None)
attention_error = err()
rope = lib.tessera_cuda_rope(P(1), P(1), P(1), P(1), S(1), S(2), S(1), S(7), 0, None)
rope_error = err()
shape = (ctypes.c_int64 * 2)(2, 3)
perm = (ctypes.c_int * 2)(0, 0)
permute = lib.tessera_cuda_permute(P(1), P(2), 2, shape, perm, 0, None)
permute_error = err()
cudnn = lib.tessera_cuda_attention_cudnn(P(1), P(1), P(1), P(1), None, S(1), S(4), S(4), S(2), S(64), F(1.0), 0, None)
cudnn_error = err()
linear = lib.tessera_cuda_linear(P(1), P(1), None, P(1), S(2), S(2), S(2), 7, 1, None)
linear_error = err()
sinusoid = lib.tessera_cuda_timestep_sinusoid((ctypes.c_float * 1)(1.0), S(1), S(3), 1, F(0), F(10000), P(1), 0, None)
sinusoid_error = err()
path = ctypes.create_string_buffer(256)
version = ctypes.c_int(-1)
missing = lib.tessera_cuda_library_info(2, path, S(256), ctypes.byref(version))
missing_error = err()
print(json.dumps({"abi": lib.tessera_cuda_abi_version(), "device": [device_status, count.value, device_error],
  "attention": [attention, attention_error], "rope": [rope, rope_error], "permute": [permute, permute_error],
  "cudnn": [cudnn, cudnn_error], "linear": [linear, linear_error], "sinusoid": [sinusoid, sinusoid_error],
  "cudnnLibrary": [missing, missing_error]}))
`;
    const out = execFileSync('python3', ['-c', script, cudaLibraryPath], { encoding: 'utf8' });
    const answer = JSON.parse(out) as Record<string, [number, string] | number | [number, number, string]>;
    const header = readFileSync(cudaHeaderPath, 'utf8');
    expect(answer.abi).toBe(Number(/#define TESSERA_CUDA_ABI_VERSION (\d+)/.exec(header)?.[1]));
    const [deviceStatus, count, deviceError] = answer.device as [number, number, string];
    if (deviceStatus !== 0) {
      // No driver (or no usable one): the runtime's reason, never a crash.
      expect(count).toBe(0);
      expect(deviceError).toMatch(/^cudaGetDeviceCount: cuda\w+ \(.+\)$/);
    }
    expect(answer.attention).toEqual([1, 'tessera_cuda_attention: head_dim 300 is outside 1..256']);
    expect(answer.rope).toEqual([1, 'tessera_cuda_rope: head_dim 7 is odd; RoPE rotates pairs']);
    expect(answer.permute).toEqual([1, 'tessera_cuda_permute: perm is not a permutation of 0..1']);
    // UNSUPPORTED (5): the caller takes the built-in kernel instead.
    expect(answer.cudnn).toEqual([5, 'tessera_cuda_attention_cudnn: cuDNN flash attention runs bf16 only']);
    expect(answer.linear).toEqual([1, 'tessera_cuda_linear: unknown epilogue 7']);
    expect(answer.sinusoid).toEqual([
      1,
      'tessera_cuda_timestep_sinusoid: channels must be even and ≥ 2, got 3',
    ]);
    const [libraryStatus, libraryError] = answer.cudnnLibrary as [number, string];
    if (libraryStatus !== 0) {
      // No cuDNN on this machine: LIBRARY_MISSING (3) naming what was tried and how to point at it.
      expect(libraryStatus).toBe(3);
      expect(libraryError).toMatch(/^cuDNN not found \(.*libcudnn\.so\.9.*\); .*TESSERA_CUDNN_LIB$/);
    }
  });

  it.runIf(built || compileRequired)('carries device code for sm_80 and sm_90', () => {
    // The fat binary embeds each target's ELF; its architecture names are readable strings in the file.
    const bytes = readFileSync(cudaLibraryPath);
    const sections = execFileSync('readelf', ['-S', '-W', cudaLibraryPath], { encoding: 'utf8' });
    expect(sections).toMatch(/\.nv_fatbin/);
    expect(bytes.includes(Buffer.from('sm_80'))).toBe(true);
    expect(bytes.includes(Buffer.from('sm_90'))).toBe(true);
  });
});

/** The `name==version` pins of a bash array assignment `NAME=(...)` in `script`. */
function pinsOf(script: string, name: string): Map<string, string> {
  const body = new RegExp(`^${name}=\\(([^)]*)\\)`, 'm').exec(readFileSync(join(repoRoot, script), 'utf8'));
  if (!body) throw new Error(`${script} has no ${name}=(...) array`);
  return new Map([...(body[1] as string).matchAll(/([\w.-]+)==([\w.]+)/g)].map((m) => [m[1]!, m[2]!]));
}

describe('CUDA pins agree between the compile and the runtime image', () => {
  it('the runtime image loads the cuBLAS and cuDNN the backend is compiled against, and the same nvcc', () => {
    const headers = pinsOf('scripts/setup.d/45-cuda', 'header_pins');
    const toolchain = pinsOf('scripts/setup.d/45-cuda', 'toolchain_pins');
    const runtime = pinsOf('scripts/build-images', 'cuda_runtime_pins');
    const imageNvcc = pinsOf('scripts/build-images', 'nvcc_pins');
    for (const library of ['nvidia-cublas', 'nvidia-cudnn-cu13']) {
      expect(headers.get(library), `45-cuda header_pins: ${library}`).toBeDefined();
      expect(runtime.get(library), `build-images cuda_runtime_pins: ${library}`).toBe(headers.get(library));
    }
    expect(runtime.get('nvidia-cuda-runtime')).toBe(toolchain.get('nvidia-cuda-runtime'));
    expect(imageNvcc).toEqual(toolchain);
  });
});
