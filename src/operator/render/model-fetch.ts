/**
 * Pods of a DiTInference whose model comes from a hub (spec.model.source.hub): the model volume is a
 * directory of the node's hub cache, one per repository and revision, and an init container running
 * `tessera fetch-model` fills it before the workers start. Every pod on a node shares the directory;
 * the downloader locks it, so one pod downloads and the others find the files there.
 */
import type { V1Container, V1EnvVar, V1Volume } from '@kubernetes/client-node';
import type { DiTInference, HubModelSource } from '../../shared/api/v1alpha1/index.js';
import { MODEL_MOUNT_DIR, PLAN_MOUNT_DIR } from '../../shared/runtime-contract.js';

export const MODEL_FETCH_CONTAINER = 'fetch-model';

/** A repository and revision as one directory name under the cache (`owner--name/revision`). */
export function hubCacheDirectory(hub: HubModelSource): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');
  const [owner = '', name = ''] = hub.repository.split('/');
  return `${hub.cacheHostPath.replace(/\/+$/, '')}/${safe(owner)}--${safe(name)}/${safe(hub.revision)}`;
}

export function hubModelVolume(hub: HubModelSource): V1Volume {
  return { name: 'model', hostPath: { path: hubCacheDirectory(hub), type: 'DirectoryOrCreate' } };
}

/**
 * The init container: the runtime image's `tessera fetch-model`, with the env contract (plan path, pod
 * index) so it fetches only this pod's share. It runs as root because the kubelet creates the hostPath
 * directory root-owned; it has no capabilities and a read-only root file system, and writes only the
 * model folder. Its termination message (`<reason>: <message>`) is how a failure reaches the status.
 */
export function modelFetchContainer(
  inf: DiTInference,
  hub: HubModelSource,
  image: string,
  contractEnv: readonly V1EnvVar[],
): V1Container {
  const env: V1EnvVar[] = [...contractEnv];
  if (hub.tokenSecretRef) {
    env.push({
      name: 'HF_TOKEN',
      valueFrom: { secretKeyRef: { name: hub.tokenSecretRef.name, key: hub.tokenSecretRef.key } },
    });
  }
  return {
    name: MODEL_FETCH_CONTAINER,
    image,
    imagePullPolicy: inf.spec.runtime.imagePullPolicy,
    command: ['tessera', 'fetch-model'],
    args: [
      `--repository=${hub.repository}`,
      `--revision=${hub.revision}`,
      `--endpoint=${hub.endpoint}`,
      `--dest=${MODEL_MOUNT_DIR}`,
    ],
    env,
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    securityContext: {
      runAsUser: 0,
      runAsNonRoot: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts: [
      { name: 'plan', mountPath: PLAN_MOUNT_DIR, readOnly: true },
      { name: 'model', mountPath: MODEL_MOUNT_DIR },
    ],
  };
}
