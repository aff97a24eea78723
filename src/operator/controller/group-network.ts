/**
 * The network side of each group: its Secret (created once, the ranks' shared secret) and its
 * NetworkPolicy (applied). Neither kind has an informer — watching every Secret of the cluster is a
 * grant the operator should not need — so this process remembers what it wrote: each group's objects
 * are written the first time it sees the group and again when the policy changes (the serving port),
 * not on every reconcile. An operator restart writes them once more, which also restores one deleted
 * by hand.
 */
import type { DiTInference } from '../../shared/api/v1alpha1/index.js';
import type { Applier } from '../apply/applier.js';
import type { KubeClient } from '../kube/client.js';
import { isAlreadyExists } from '../kube/errors.js';
import { RESOURCES } from '../kube/resources.js';
import { groupSecretName, renderGroupSecret } from '../render/group-secret.js';
import { stableHash } from '../render/hash.js';
import { networkPolicyName, renderNetworkPolicy } from '../render/network-policy.js';

export class GroupNetwork {
  /** `namespace/name` → the object's UID and, per group index, the hash of the policy written. */
  private readonly written = new Map<string, { uid: string; policies: Map<number, string> }>();

  constructor(
    private readonly client: KubeClient,
    private readonly applier: Applier,
  ) {}

  /** The dry run of a new object's policies (the Secret is fixed bytes and a name: nothing to refuse). */
  async dryRun(inf: DiTInference, indexes: Iterable<number>): Promise<void> {
    await Promise.all(
      [...indexes].map((i) => this.applier.dryRunApply(RESOURCES.networkPolicy, renderNetworkPolicy(inf, i))),
    );
  }

  /** Creates each group's Secret unless it exists, and applies its NetworkPolicy, before its pods exist. */
  async ensure(inf: DiTInference, indexes: Iterable<number>): Promise<void> {
    await Promise.all([...indexes].map((i) => this.ensureGroup(inf, i)));
  }

  /** Scale-down: the group's Secret and NetworkPolicy go with its StatefulSet. */
  async remove(inf: DiTInference, index: number): Promise<void> {
    const namespace = inf.metadata.namespace ?? '';
    this.writtenFor(inf).delete(index);
    await Promise.all([
      this.applier.delete(RESOURCES.secret, { namespace, name: groupSecretName(inf, index) }),
      this.applier.delete(RESOURCES.networkPolicy, { namespace, name: networkPolicyName(inf, index) }),
    ]);
  }

  /** The object is gone (the garbage collector removes its children): forget its groups. */
  forget(key: string): void {
    this.written.delete(key);
  }

  private async ensureGroup(inf: DiTInference, index: number): Promise<void> {
    const policy = renderNetworkPolicy(inf, index);
    const hash = stableHash(policy);
    const written = this.writtenFor(inf);
    const seen = written.get(index);
    if (seen === hash) return;
    if (seen === undefined) {
      try {
        await this.client.create(RESOURCES.secret, renderGroupSecret(inf, index), this.applier.fieldManager);
      } catch (err) {
        // Written by an earlier run of the operator: the group's ranks may hold it already; keep it.
        if (!isAlreadyExists(err)) throw err;
      }
    }
    await this.applier.apply(RESOURCES.networkPolicy, policy);
    written.set(index, hash);
  }

  /** What was written for this very object; a namesake with another UID starts afresh. */
  private writtenFor(inf: DiTInference): Map<number, string> {
    const key = `${inf.metadata.namespace}/${inf.metadata.name}`;
    const uid = inf.metadata.uid ?? '';
    let entry = this.written.get(key);
    if (entry?.uid !== uid) {
      entry = { uid, policies: new Map() };
      this.written.set(key, entry);
    }
    return entry.policies;
  }
}
