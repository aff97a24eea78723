/**
 * An OCI image archive (as `buildah push oci-archive:` writes it) unpacked into a root file system the
 * way a container runtime does: the manifest's layers in order, whiteouts applied (`.wh.<name>` deletes
 * a lower file, `.wh..wh..opq` empties a lower directory), and the image config (entrypoint, user, env,
 * working directory) for running it.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

export interface ImageConfig {
  entrypoint: string[];
  cmd: string[];
  env: string[];
  user: string;
  workingDir: string;
}

interface Descriptor {
  mediaType: string;
  digest: string;
}

const run = promisify(execFile);

/** Runs a command without blocking the event loop (a gigabyte of layers takes minutes). */
async function sh(file: string, args: string[]): Promise<string> {
  return (await run(file, args, { maxBuffer: 256 * 1024 * 1024 })).stdout;
}

function blob(dir: string, d: Descriptor): string {
  const [algorithm, hex] = d.digest.split(':');
  return join(dir, 'blobs', algorithm ?? 'sha256', hex ?? '');
}

function json<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Unpacks `archive` into `rootfs` (created) and returns the image's config. Runs as root. */
export async function unpackOciArchive(archive: string, work: string, rootfs: string): Promise<ImageConfig> {
  const layout = join(work, 'layout');
  mkdirSync(layout, { recursive: true });
  await sh('tar', ['-xf', archive, '-C', layout]);
  const index = json<{ manifests: Descriptor[] }>(join(layout, 'index.json'));
  const manifestRef = index.manifests[0];
  if (!manifestRef) throw new Error(`${archive}: index.json lists no manifest`);
  const manifest = json<{ config: Descriptor; layers: Descriptor[] }>(blob(layout, manifestRef));
  mkdirSync(rootfs, { recursive: true });
  for (const layer of manifest.layers) {
    const file = blob(layout, layer);
    const gzip = layer.mediaType.endsWith('+gzip') ? ['-z'] : [];
    const entries = (await sh('tar', [...gzip, '-tf', file]))
      .split('\n')
      .filter(Boolean)
      .map((e) => e.replace(/^\.\//, ''));
    // Whiteouts remove what lower layers put there, before this layer's own files land.
    for (const entry of entries) {
      const name = entry.split('/').pop() ?? '';
      if (name === '.wh..wh..opq') {
        rmSync(join(rootfs, dirname(entry)), { recursive: true, force: true });
        mkdirSync(join(rootfs, dirname(entry)), { recursive: true });
      } else if (name.startsWith('.wh.')) {
        rmSync(join(rootfs, dirname(entry), name.slice(4)), { recursive: true, force: true });
      }
    }
    await sh('tar', [
      ...gzip,
      '-xpf',
      file,
      '-C',
      rootfs,
      '--numeric-owner',
      '--exclude=.wh.*',
      '--exclude=*/.wh.*',
    ]);
  }
  const config = json<{
    config?: { Entrypoint?: string[]; Cmd?: string[]; Env?: string[]; User?: string; WorkingDir?: string };
  }>(blob(layout, manifest.config)).config;
  rmSync(layout, { recursive: true, force: true });
  return {
    entrypoint: config?.Entrypoint ?? [],
    cmd: config?.Cmd ?? [],
    env: config?.Env ?? [],
    user: config?.User ?? '',
    workingDir: config?.WorkingDir || '/',
  };
}

/**
 * Runs the image's entrypoint with `args` inside `rootfs`: a private mount and PID namespace with /dev
 * and /proc mounted, chroot as the image's user, only the image's environment.
 */
export function containerCommand(rootfs: string, config: ImageConfig, args: readonly string[]): string[] {
  const user = config.user || '0:0';
  const quoted = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
  const inner = [
    `mount --rbind /dev ${quoted(join(rootfs, 'dev'))}`,
    `mount -t proc proc ${quoted(join(rootfs, 'proc'))}`,
    `cd ${quoted(rootfs)}`,
    [
      'exec chroot',
      `--userspec=${quoted(user.includes(':') ? user : `${user}:${user}`)}`,
      quoted(rootfs),
      '/usr/bin/env -i',
      ...config.env.map(quoted),
      'sh -c',
      quoted(`cd ${config.workingDir} && exec "$@"`),
      'entrypoint',
      ...[...config.entrypoint, ...args].map(quoted),
    ].join(' '),
  ].join(' && ');
  return ['unshare', '--mount', '--pid', '--fork', '--propagation', 'private', 'sh', '-c', inner];
}
