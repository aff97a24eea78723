import type { KubeClient } from '../kube/client.js';
import { isConflict, isNotFound } from '../kube/errors.js';
import type { KubeObject } from '../kube/objects.js';
import type { ResourceType } from '../kube/resources.js';

/**
 * Writes child objects with server-side apply under the operator's one field manager. `force` is safe
 * here: these objects are the operator's own, and taking a field back from someone who edited it by
 * hand is the point of reconciling.
 */
export class Applier {
  constructor(
    private readonly client: KubeClient,
    readonly fieldManager: string,
  ) {}

  async apply<T extends KubeObject>(r: ResourceType, desired: T): Promise<T> {
    return this.client.apply<T>(r, desired, { fieldManager: this.fieldManager, force: true });
  }

  /** The same apply, checked and defaulted by the API server (admission included) but not stored. */
  async dryRunApply<T extends KubeObject>(r: ResourceType, desired: T): Promise<T> {
    return this.client.apply<T>(r, desired, { fieldManager: this.fieldManager, force: true, dryRun: true });
  }

  /**
   * Merges annotations the operator keeps for its own bookkeeping (not part of the rendered object), so
   * the next apply of the rendered object leaves them alone. `null` removes one.
   */
  async annotate(
    r: ResourceType,
    at: { namespace: string; name: string },
    annotations: Record<string, string | null>,
  ): Promise<void> {
    await this.client.mergePatch(r, at, { metadata: { annotations } }, `${this.fieldManager}-bookkeeping`);
  }

  async label(
    r: ResourceType,
    at: { namespace: string; name: string },
    labels: Record<string, string>,
  ): Promise<void> {
    await this.client.mergePatch(r, at, { metadata: { labels } }, this.fieldManager);
  }

  /** Deletes; an object already gone is fine. */
  async delete(
    r: ResourceType,
    at: { namespace: string; name: string },
    opts: { uid?: string; propagationPolicy?: 'Background' | 'Foreground' } = {},
  ): Promise<void> {
    try {
      await this.client.delete(r, at, opts);
    } catch (err) {
      if (isNotFound(err)) return;
      // A UID precondition that no longer holds means the object was already replaced: also fine.
      if (opts.uid && isConflict(err) && /precondition/i.test((err as Error).message)) return;
      throw err;
    }
  }
}

/**
 * Whether every field of `desired` already has that value in `observed` (fields the server added, such
 * as defaults, are ignored). When true, applying `desired` would change nothing, so the call is skipped.
 */
export function containsAll(observed: unknown, desired: unknown): boolean {
  if (desired === null || typeof desired !== 'object') return observed === desired;
  if (Array.isArray(desired)) {
    if (!Array.isArray(observed) || observed.length !== desired.length) return false;
    return desired.every((d, i) => containsAll(observed[i], d));
  }
  if (observed === null || typeof observed !== 'object' || Array.isArray(observed)) return false;
  const o = observed as Record<string, unknown>;
  return Object.entries(desired as Record<string, unknown>).every(([k, v]) => containsAll(o[k], v));
}
