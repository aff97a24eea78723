import { randomBytes } from 'node:crypto';
import type { Logger } from '../../shared/log.js';
import type { KubeClient } from '../kube/client.js';
import type { KubeObject } from '../kube/objects.js';
import { RESOURCES } from '../kube/resources.js';

/**
 * Event reasons the operator emits, with when. Besides these, when `CapacityAvailable` turns False a
 * Warning carries the condition's own reason (`InsufficientCapacity`, `WaitingForNodes`,
 * `Unschedulable`) and message, once per transition.
 */
export const EVENT_REASONS = {
  /** Normal: groups start to run a new plan (first plan, a re-plan after a spec change, another pool). */
  planChosen: 'PlanChosen',
  /** Warning: the planner (or the operator) rejected the spec; nothing was created or changed. */
  specRejected: 'SpecRejected',
  /** Warning: a group lost a rank and all its pods were deleted to restart it together. */
  groupRecreated: 'GroupRecreated',
  /** Warning: a group failed more often than its restart limit; the operator stopped recreating it. */
  restartLimitExceeded: 'RestartLimitExceeded',
  /** Normal: a group was created (scale up). */
  groupCreated: 'GroupCreated',
  /** Normal: a group was removed (scale down). */
  groupRemoved: 'GroupRemoved',
  /** Normal: a group was moved to a new template revision (rolling update). */
  groupRolled: 'GroupRolled',
  /** Normal: a new group went to another GPU pool than the best, which had no room (overflow NextPool). */
  poolOverflow: 'PoolOverflow',
  /** Warning: a serving group's pool shrank or vanished; it keeps its plan and is reported, not moved. */
  poolChanged: 'PoolChanged',
} as const;

export interface PendingEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

/**
 * Writes core/v1 Events about an object. Failures are logged, never thrown: an event is a courtesy to
 * people, and a reconcile must not fail because one could not be written.
 */
export class EventRecorder {
  constructor(
    private readonly client: KubeClient,
    private readonly component: string,
    private readonly log: Logger,
  ) {}

  async emit(
    involved: KubeObject & { apiVersion: string; kind: string },
    event: PendingEvent,
  ): Promise<void> {
    const meta = involved.metadata ?? {};
    const now = new Date().toISOString();
    try {
      await this.client.create(
        RESOURCES.event,
        {
          metadata: { name: `${meta.name}.${randomBytes(8).toString('hex')}`, namespace: meta.namespace },
          involvedObject: {
            apiVersion: involved.apiVersion,
            kind: involved.kind,
            name: meta.name,
            namespace: meta.namespace,
            uid: meta.uid,
            resourceVersion: meta.resourceVersion,
          },
          type: event.type,
          reason: event.reason,
          message: event.message.slice(0, 1024),
          source: { component: this.component },
          reportingComponent: this.component,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
        this.component,
      );
    } catch (err) {
      this.log.warn({ err, reason: event.reason }, 'Writing event failed');
    }
  }
}
