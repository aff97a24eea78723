import { accessSync, constants, statSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';

/**
 * A kubeconfig the operator cannot use. The message names where the path came from and what to do, so
 * the command prints it as one line instead of a stack trace.
 */
export class KubeconfigError extends Error {
  override readonly name = 'KubeconfigError';
}

/** Where the kubeconfig path came from, for messages. */
export type KubeconfigSource = '--kubeconfig' | 'KUBECONFIG';

/**
 * Loads the kubeconfig at `path` (checked first: it must be a readable file that parses), or, without
 * a path, the in-cluster service account or `~/.kube/config` as client-node finds them.
 */
export function loadKubeConfig(path: string | undefined, source: KubeconfigSource): KubeConfig {
  const kc = new KubeConfig();
  if (path === undefined) {
    try {
      kc.loadFromDefault();
    } catch (err) {
      throw new KubeconfigError(`cannot load the default kubeconfig: ${messageOf(err)}`, { cause: err });
    }
  } else {
    const where = `kubeconfig ${path} (from ${source})`;
    const fix =
      source === '--kubeconfig'
        ? 'pass the path of a kubeconfig file, or leave --kubeconfig out to use $KUBECONFIG, the in-cluster service account or ~/.kube/config'
        : 'point KUBECONFIG at a kubeconfig file, or unset it to use the in-cluster service account or ~/.kube/config';
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) throw new KubeconfigError(`${where} does not exist; ${fix}`);
    if (!stat.isFile()) throw new KubeconfigError(`${where} is not a file; ${fix}`);
    try {
      accessSync(path, constants.R_OK);
    } catch (err) {
      throw new KubeconfigError(`${where} is not readable by this user; ${fix}`, { cause: err });
    }
    try {
      kc.loadFromFile(path);
    } catch (err) {
      throw new KubeconfigError(`${where} is not a valid kubeconfig: ${messageOf(err)}`, { cause: err });
    }
  }
  if (!kc.getCurrentCluster()) {
    throw new KubeconfigError(
      `the kubeconfig${path === undefined ? '' : ` ${path}`} names no cluster for its current context '${kc.getCurrentContext()}'; set current-context to a context with a cluster`,
    );
  }
  return kc;
}

function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0] ?? text;
}
