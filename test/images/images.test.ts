import { chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NamedTensors } from '../../src/runtime/model-loader/index.js';
import { runTool } from '../deploy/support/tools.js';
import { maxRelativeError } from '../runtime/models/fixtures.js';
import { checkpointDir, REFERENCE_DIR, referenceCheckpoint } from '../support/reference-fixtures.js';
import { containerCommand, type ImageConfig, unpackOciArchive } from './support/oci-rootfs.js';

/**
 * The images scripts/build-images writes, run as a container runtime would: the OCI archive's layers
 * unpacked into a root file system, the entrypoint run in it as the image's user. Building them takes
 * longer than CI's budget allows beside the rest, so `scripts/test-images` builds and runs this file;
 * here it runs when the archives exist and TESSERA_IMAGE_TEST=1.
 */
const ROOT = join(import.meta.dirname, '../..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const archive = (name: string) => join(ROOT, 'build/images', `tessera-${name}-${VERSION}.oci.tar`);
const enabled = process.env.TESSERA_IMAGE_TEST === '1';
const work = mkdtempSync(join(tmpdir(), 'tessera-images-'));

// Asynchronous: removing gigabytes of root file systems must not block vitest's worker.
afterAll(() => rm(work, { recursive: true, force: true }), 300_000);

async function unpacked(name: string): Promise<{ rootfs: string; config: ImageConfig }> {
  const rootfs = join(work, name, 'rootfs');
  const config = await unpackOciArchive(archive(name), join(work, name), rootfs);
  return { rootfs, config };
}

function skipReason(name: string): string | undefined {
  if (!enabled) return 'set TESSERA_IMAGE_TEST=1 (scripts/test-images does) to run the image tests';
  if (!existsSync(archive(name))) return `${archive(name)} is missing: run scripts/build-images ${name}`;
  if (process.getuid?.() !== 0) return 'unpacking and chroot need root';
  return undefined;
}

for (const name of ['operator', 'runtime']) {
  const why = skipReason(name);
  if (why) console.log(`image test ${name} skipped: ${why}`);
}

describe.skipIf(skipReason('operator') !== undefined)('the operator image', () => {
  it('runs `tessera operator` as a non-root user: --help lists the flags', async () => {
    const { rootfs, config } = await unpacked('operator');
    expect(config.entrypoint).toEqual(['tessera', 'operator']);
    expect(config.user).toBe('65532:65532');
    // No native addon and no CUDA library in the operator image.
    expect(existsSync(join(rootfs, 'opt/tessera/native'))).toBe(false);
    const [cmd = '', ...args] = containerCommand(rootfs, config, ['--help']);
    const out = await runTool(cmd, args, { timeoutMs: 60_000 });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain('--runtime-image');
    expect(out.stdout).toContain('--leader-elect');
  }, 300_000);
});

describe.skipIf(skipReason('runtime') !== undefined)('the runtime image', () => {
  it('holds the addon, libtessera_cuda.so and the CUDA libraries, and denoises the SD3 fixture on CPU like the golden', async () => {
    const { rootfs, config } = await unpacked('runtime');
    expect(config.entrypoint).toEqual(['tessera', 'worker']);
    expect(config.user).toBe('65532:65532');
    for (const file of [
      'opt/tessera/native/build/Release/tessera_native.node',
      'opt/tessera/native/cuda/build/libtessera_cuda.so',
      'usr/local/bin/node',
    ]) {
      expect(existsSync(join(rootfs, file)), file).toBe(true);
    }
    const ldconfig = await runTool('chroot', [rootfs, 'ldconfig', '-p']);
    for (const lib of [
      'libcublas.so.13',
      'libcublasLt.so.13',
      'libcudnn.so.9',
      'libnccl.so.2',
      'libopenblas.so.0',
      'libgloo.so.0',
    ]) {
      expect(ldconfig.stdout, lib).toContain(lib);
    }

    // One rank, on CPU, the fixture's denoise case: the entrypoint is `tessera worker`, so the test
    // runs `tessera denoise` through the image's own tessera binary as the image's user.
    const c = referenceCheckpoint('sd3-medium');
    const reference = c.cases.find((x) => x.kind === 'denoise');
    if (!reference) throw new Error('the sd3-medium fixture has no denoise case');
    const inside = join(rootfs, 'work');
    mkdirSync(inside);
    cpSync(checkpointDir('sd3-medium'), join(inside, 'checkpoint'), { recursive: true });
    cpSync(join(REFERENCE_DIR, reference.file), join(inside, 'inputs.safetensors'));
    chownSync(inside, 65532, 65532);
    const denoise = { ...config, entrypoint: ['tessera', 'denoise'] };
    const [cmd = '', ...args] = containerCommand(rootfs, denoise, [
      '--model',
      '/work/checkpoint',
      '--inputs',
      '/work/inputs.safetensors',
      '--steps',
      String(reference.steps),
      '--guidance-scale',
      String(reference.guidance_scale),
      '-o',
      '/work/out.safetensors',
    ]);
    const out = await runTool(cmd, args, { timeoutMs: 300_000 });
    expect(out.code, out.stderr).toBe(0);
    const golden = NamedTensors.read(join(REFERENCE_DIR, reference.file)).required('output_latents', '');
    const result = NamedTensors.read(join(inside, 'out.safetensors')).required('latents', '');
    const error = maxRelativeError(result, golden);
    console.log(`runtime image: tessera denoise sd3-medium, max relative error against the golden ${error}`);
    expect(error).toBeLessThan(1e-3);
    // Unpacking a gigabyte of layers and one CPU denoise: minutes on a loaded 2-core machine.
  }, 900_000);
});
