import type { Logger } from '../../shared/log.js';
import type { KubeClient } from '../kube/client.js';
import { isAlreadyExists, isConflict, isNotFound } from '../kube/errors.js';
import type { KubeObject } from '../kube/objects.js';
import { RESOURCES } from '../kube/resources.js';

export interface LeaseTimings {
  /** How long a lease is valid after its last renewal; candidates wait this long before taking over. */
  readonly leaseDurationMs: number;
  /** The leader gives up (and the process exits) when it could not renew for this long. */
  readonly renewDeadlineMs: number;
  /** Period of acquire and renew attempts. */
  readonly retryPeriodMs: number;
}

/** client-go's defaults: 15 s / 10 s / 2 s. */
export const DEFAULT_LEASE_TIMINGS: LeaseTimings = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

export interface LeaseElectorOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly name: string;
  /** Unique per replica (pod name plus a random suffix). */
  readonly identity: string;
  readonly timings?: LeaseTimings;
  readonly log: Logger;
  readonly fieldManager: string;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}
interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

/**
 * Leader election over a `coordination.k8s.io/v1` Lease, with client-go's semantics: optimistic
 * concurrency on the Lease's resourceVersion; a candidate takes over only when the holder has not
 * renewed for a full lease duration *as measured on the candidate's own clock* (from when it last saw
 * the record change), so clock skew between replicas does not matter. A leader that cannot renew within
 * the renew deadline reports the loss; the operator then exits rather than risk two leaders.
 */
export class LeaseElector {
  private readonly timings: LeaseTimings;
  private observedRecord = '';
  private observedAt = 0;
  private leading = false;
  private lastRenew = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private onLost: (() => void) | undefined;
  private onAcquired: (() => void) | undefined;

  constructor(private readonly opts: LeaseElectorOptions) {
    this.timings = opts.timings ?? DEFAULT_LEASE_TIMINGS;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Runs until stopped: calls `acquired` once this replica leads, `lost` if it stops leading. */
  run(callbacks: { acquired: () => void; lost: () => void }): void {
    this.onAcquired = callbacks.acquired;
    this.onLost = callbacks.lost;
    void this.tick();
  }

  /** Stops campaigning; a leader releases the lease so a standby takes over without waiting it out. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.opts.client.get<Lease>(RESOURCES.lease, this.opts.namespace, this.opts.name);
      if (lease.spec?.holderIdentity !== this.opts.identity) return;
      await this.opts.client.replace(
        RESOURCES.lease,
        { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 } },
        this.opts.fieldManager,
      );
      this.opts.log.info({ lease: this.opts.name }, 'Released leader lease');
    } catch (err) {
      this.opts.log.warn({ err, lease: this.opts.name }, 'Releasing leader lease failed; it will expire');
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew();
    } catch (err) {
      this.opts.log.debug({ err, lease: this.opts.name }, 'Lease attempt failed');
    }
    if (this.stopped) return;
    const now = Date.now();
    if (ok) {
      this.lastRenew = now;
      if (!this.leading) {
        this.leading = true;
        this.opts.log.info({ lease: this.opts.name, identity: this.opts.identity }, 'Became leader');
        this.onAcquired?.();
      }
    } else if (this.leading && now - this.lastRenew > this.timings.renewDeadlineMs) {
      this.leading = false;
      this.opts.log.error(
        { lease: this.opts.name },
        'Lost leader lease: could not renew within the deadline',
      );
      this.onLost?.();
      return;
    }
    this.timer = setTimeout(() => void this.tick(), this.timings.retryPeriodMs);
  }

  /** One attempt; true when this replica holds the lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, identity } = this.opts;
    const now = new Date();
    const nowIso = toMicroTime(now);
    const durationSeconds = Math.ceil(this.timings.leaseDurationMs / 1000);
    let lease: Lease;
    try {
      lease = await client.get<Lease>(RESOURCES.lease, namespace, name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await client.create(
          RESOURCES.lease,
          {
            metadata: { name, namespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds: durationSeconds,
              acquireTime: nowIso,
              renewTime: nowIso,
              leaseTransitions: 0,
            },
          } as Lease,
          this.opts.fieldManager,
        );
        return true;
      } catch (createErr) {
        if (isAlreadyExists(createErr)) return false;
        throw createErr;
      }
    }

    const spec = lease.spec ?? {};
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseDurationSeconds]);
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAt = Date.now();
    }
    const holder = spec.holderIdentity ?? '';
    const heldByOther = holder !== '' && holder !== identity;
    const validForMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (heldByOther && Date.now() - this.observedAt < validForMs) return false;

    const next: LeaseSpec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds: durationSeconds,
      renewTime: nowIso,
      acquireTime: holder === identity ? spec.acquireTime : nowIso,
      leaseTransitions: holder === identity ? spec.leaseTransitions : (spec.leaseTransitions ?? 0) + 1,
    };
    try {
      // PUT carries the resourceVersion we read: if anyone wrote in between, this is a 409 and we lose.
      await client.replace(RESOURCES.lease, { ...lease, spec: next }, this.opts.fieldManager);
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }
}

/** Lease times are MicroTime: RFC 3339 with microseconds. */
function toMicroTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
