import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Absolute paths of the control-plane executables built by scripts/setup.d/50-controlplane. */
export interface ControlPlaneBinaries {
  readonly dir: string;
  readonly etcd: string;
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
  readonly kubeScheduler: string;
  readonly kubectl: string;
  readonly kwok: string;
}

/** The checkout root: this file is src/devcluster/ (tests, tsx) or dist/devcluster/ (compiled). */
const REPO_ROOT = resolve(import.meta.dirname, '../..');

/** Thrown when the binaries are not built; the message says how to build them. */
export class MissingBinariesError extends Error {
  override readonly name = 'MissingBinariesError';
}

/**
 * Where the binaries of the current build live: `$TESSERA_CONTROLPLANE_BIN` when set (a folder holding
 * all six), else `.cache/controlplane/<key>/bin` with <key> read from `.cache/controlplane/current`, which
 * setup writes after a complete build.
 */
export function controlPlaneBinDir(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.TESSERA_CONTROLPLANE_BIN;
  if (override) return resolve(override);
  const cache = resolve(env.TESSERA_CACHE ?? join(REPO_ROOT, '.cache'));
  const currentFile = join(cache, 'controlplane', 'current');
  if (!existsSync(currentFile)) {
    throw new MissingBinariesError(
      `local control plane is not built (no ${currentFile}): run ./scripts/setup, which builds it from tools/controlplane/`,
    );
  }
  const key = readFileSync(currentFile, 'utf8').trim();
  return join(cache, 'controlplane', key, 'bin');
}

/** The paths where the binaries should be, without checking that they are there. */
export function controlPlaneBinaryPaths(binDir: string): ControlPlaneBinaries {
  return {
    dir: binDir,
    etcd: join(binDir, 'etcd'),
    kubeApiserver: join(binDir, 'kube-apiserver'),
    kubeControllerManager: join(binDir, 'kube-controller-manager'),
    kubeScheduler: join(binDir, 'kube-scheduler'),
    kubectl: join(binDir, 'kubectl'),
    kwok: join(binDir, 'kwok'),
  };
}

/** Locates every binary and fails with one message naming each one that is missing. */
export function locateControlPlaneBinaries(binDir: string = controlPlaneBinDir()): ControlPlaneBinaries {
  const bins = controlPlaneBinaryPaths(binDir);
  const missing = Object.entries(bins)
    .filter(([name, path]) => name !== 'dir' && !existsSync(path))
    .map(([, path]) => path);
  if (missing.length > 0) {
    throw new MissingBinariesError(
      `local control plane binaries missing: ${missing.join(', ')} — run ./scripts/setup to build them`,
    );
  }
  return bins;
}
