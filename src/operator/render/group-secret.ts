/**
 * The Secret of one group: 32 random bytes that its ranks prove to each other before the rendezvous
 * store or a gloo connection reads anything from them (native/src/store/group_auth.h). One per group, so
 * the ranks of one group cannot join another. Created once and never applied (a fresh value on a later
 * write would split a running group), owned by the DiTInference, deleted with its group on scale-down.
 * The pod template mounts it at GROUP_SECRET_MOUNT_DIR.
 */
import { randomBytes } from 'node:crypto';
import type { V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { type DiTInference, LABELS } from '../../shared/api/v1alpha1/index.js';
import { GROUP_SECRET_KEY, GROUP_SECRET_MOUNT_DIR } from '../../shared/runtime-contract.js';
import type { KubeObject } from '../kube/objects.js';
import { childMeta } from './metadata.js';
import { groupName } from './names.js';

const SECRET_BYTES = 32;
const VOLUME = 'group-secret';
/** Characters of the owner's UID in the name. */
const UID_CHARS = 8;

export interface GroupSecretObject extends KubeObject {
  type: 'Opaque';
  immutable: true;
  data: Record<string, string>;
}

/**
 * `<name>-g<index>-secret-<uid>`: the owner's UID in the name keeps a deleted namesake's Secret, which
 * the garbage collector may not have removed yet, from being taken for this object's (its create
 * would answer AlreadyExists and the pods would mount a Secret about to disappear).
 */
export function groupSecretName(inf: DiTInference, index: number): string {
  const uid = (inf.metadata.uid ?? '').replace(/[^a-z0-9]/g, '').slice(0, UID_CHARS);
  const base = `${groupName(inf.metadata.name ?? '', index)}-secret`;
  return uid ? `${base}-${uid}` : base;
}

/** A new Secret for group `index`, holding fresh random bytes. */
export function renderGroupSecret(inf: DiTInference, index: number): GroupSecretObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: childMeta(inf, groupSecretName(inf, index), {
      labels: { [LABELS.groupIndex]: String(index) },
    }),
    type: 'Opaque',
    // The value never changes; immutability also spares the kubelets a watch on it.
    immutable: true,
    data: { [GROUP_SECRET_KEY]: randomBytes(SECRET_BYTES).toString('base64') },
  };
}

/**
 * The pod volume of group `index`'s Secret. Read-only for everyone: the kubelet writes the file as root,
 * and the runtime runs as another user (65532 in the image); the container has no other user to hide it
 * from.
 */
export function groupSecretVolume(inf: DiTInference, index: number): V1Volume {
  return {
    name: VOLUME,
    secret: {
      secretName: groupSecretName(inf, index),
      items: [{ key: GROUP_SECRET_KEY, path: GROUP_SECRET_KEY }],
      defaultMode: 0o444,
    },
  };
}

export function groupSecretMount(): V1VolumeMount {
  return { name: VOLUME, mountPath: GROUP_SECRET_MOUNT_DIR, readOnly: true };
}
