import type { V1StatefulSet } from '@kubernetes/client-node';
import {
  ANNOTATIONS,
  API_GROUP_VERSION,
  CONDITION_REASONS,
  CONDITION_TYPES,
  type DiTInference,
  type DiTInferenceStatus,
  type GroupStatus,
  KIND,
  type Toleration,
} from '../../shared/api/v1alpha1/index.js';
import type { Logger } from '../../shared/log.js';
import { type Plan, planShortString } from '../../shared/plan/index.js';
import { Applier, containsAll } from '../apply/applier.js';
import { EVENT_REASONS, type EventRecorder, type PendingEvent } from '../events/recorder.js';
import type { KubeClient } from '../kube/client.js';
import { ApiError, isInvalid, isNotFound } from '../kube/errors.js';
import { splitKey } from '../kube/objects.js';
import { RESOURCES } from '../kube/resources.js';
import type { OperatorMetrics } from '../metrics/operator-metrics.js';
import type { GroupAction } from '../policy/failure-policy.js';
import { groupsToRemove, groupsToRoll } from '../policy/rollout.js';
import type { Outcome } from '../queue/work-queue.js';
import { renderPlanConfigMap } from '../render/configmap.js';
import { renderDisruptionBudget } from '../render/disruption-budget.js';
import { canonicalJson } from '../render/hash.js';
import { nameProblem } from '../render/names.js';
import { renderVolcanoPodGroup } from '../render/podgroup.js';
import { renderPeersService, renderServingService } from '../render/services.js';
import { type GroupStatefulSet, type RenderedGroup, renderGroup } from '../render/statefulset.js';
import { assessCapacity, type CapacityAssessment } from '../status/capacity.js';
import { computeStatus } from '../status/compute.js';
import { isTrue } from '../status/conditions.js';
import {
  decidedGroupStatus,
  groupAvailable,
  newGroupStatus,
  observedGroupStatus,
  revisionOf,
  rolledGroupStatus,
} from '../status/group-status.js';
import { withModelFetch } from '../status/model-fetch.js';
import { type Caches, type Children, observeChildren } from './children.js';
import { GroupActions } from './group-actions.js';
import { GroupNetwork } from './group-network.js';
import {
  decidePlacement,
  type GroupDecision,
  type PlacementDecision,
  type PlacementState,
  recordedPlan,
} from './placement-decision.js';
import { conditionEvents, placementEvents } from './placement-events.js';

export interface ReconcilerOptions {
  readonly defaultImage: string;
  readonly defaultTolerations: readonly Toleration[];
  readonly fieldManager: string;
}

export interface ReconcilerDeps {
  readonly client: KubeClient;
  readonly caches: Caches;
  readonly recorder: EventRecorder;
  readonly metrics: OperatorMetrics;
  readonly log: Logger;
  readonly options: ReconcilerOptions;
  readonly now?: () => Date;
}

/**
 * Moves one DiTInference towards its spec. Level-triggered: everything is derived from the object and
 * the informer caches, so any number of events collapse into one run, and a run interrupted anywhere
 * (operator restart, API error) is finished by the next. Status is written once, at the end; events
 * are sent after it.
 */
export class Reconciler {
  private readonly applier: Applier;
  private readonly now: () => Date;
  private readonly groups: GroupActions;
  private readonly network: GroupNetwork;
  /**
   * The status this process last wrote for each object, with the resourceVersion the object had before.
   * Until the informer delivers the write, the cache still shows the older status; comparing against
   * it would send a transition's event twice and write the same status again.
   */
  private readonly written = new Map<string, { before: string | undefined; status: DiTInferenceStatus }>();

  constructor(private readonly deps: ReconcilerDeps) {
    this.applier = new Applier(deps.client, deps.options.fieldManager);
    this.now = deps.now ?? (() => new Date());
    this.groups = new GroupActions(this.applier, deps.metrics, this.now);
    this.network = new GroupNetwork(deps.client, this.applier);
  }

  async reconcile(key: string): Promise<Outcome> {
    const cached = this.deps.caches.inferences.get(key);
    const { namespace, name } = splitKey(key);
    // Deleted: the garbage collector removes the children through their owner references.
    if (!cached || cached.metadata.deletionTimestamp) {
      this.deps.metrics.forgetObject(namespace, name);
      this.written.delete(key);
      this.network.forget(key);
      return {};
    }
    const inf = this.withLatestStatus(key, cached);
    const log = this.deps.log.child({ namespace, name });
    const events: PendingEvent[] = [];
    const children = observeChildren(inf, this.deps.caches);

    const placement = this.decidePlacement(inf, children);
    if (!('decision' in placement)) {
      await this.reportRejection(inf, children, placement, log);
      return {};
    }
    const decision = placement.decision;
    events.push(...placementEvents(inf, decision, children));

    const desired = this.renderGroups(inf, decision, children);
    const rollout = decideRollout(children, desired, decision);
    const applied = await this.applyChildren(inf, children, desired, rollout, decision, events, log);
    const policy = await this.runGroupPolicies(inf, children, desired, rollout.toRoll, events, log);
    const applyError = applied.error ?? policy.error;

    const capacity = assessCapacity(decision, children.groups);
    const computed = computeStatus({
      inference: inf,
      placement,
      capacity,
      groups: withPlacement(policy.statuses, decision, capacity),
      outdatedGroups: rollout.outdatedCount,
      gaveUp: policy.gaveUp,
      applyError,
      refusedChild: applied.refused,
      now: this.now(),
    });
    const pods = [...children.groups.values()].flatMap((g) => g.pods);
    const status = withModelFetch(computed, inf, pods, this.now());
    if (applied.refused !== undefined) this.noteRefusal(inf, applied.refused, events, log);
    events.push(...conditionEvents(inf.status?.conditions, status.conditions));
    this.recordGroupMetrics(namespace, name, status.readyReplicas ?? 0, policy.statuses);
    await this.writeStatus(inf, status, events, log);
    if (applyError !== undefined) throw new Error(`applying children of ${key} failed: ${applyError}`);
    return policy.requeueAfterMs !== undefined ? { requeueAfterMs: policy.requeueAfterMs } : {};
  }

  /** A spec that cannot run: say why (status, one event per new reason) and leave every child as it is. */
  private async reportRejection(
    inf: DiTInference,
    children: Children,
    placement: Exclude<PlacementState, { decision: PlacementDecision }>,
    log: Logger,
  ): Promise<void> {
    const status = computeStatus({
      inference: inf,
      placement,
      groups: [...children.groups.values()].map((g) => observedGroupStatus(inf, g)),
      outdatedGroups: 0,
      gaveUp: undefined,
      applyError: undefined,
      now: this.now(),
    });
    const message = 'rejected' in placement ? placement.rejected.message : placement.unresolved;
    const events: PendingEvent[] = [];
    if (!isTrue(inf.status?.conditions, CONDITION_TYPES.stalled) || stalledMessage(inf) !== message) {
      events.push({ type: 'Warning', reason: EVENT_REASONS.specRejected, message });
      log.warn({ reason: message }, 'Spec rejected; no child created or changed');
    }
    await this.writeStatus(inf, status, events, log);
  }

  /**
   * The StatefulSet each group should have: rendered for its pool and that pool's plan, or — for a group
   * kept on a pool that changed under it — exactly the one it has.
   */
  private renderGroups(
    inf: DiTInference,
    decision: PlacementDecision,
    children: Children,
  ): Map<number, RenderedGroup> {
    const desired = new Map<number, RenderedGroup>();
    for (const g of decision.groups) {
      const observed = children.groups.get(g.index);
      desired.set(
        g.index,
        g.kind === 'kept' && observed
          ? keptGroup(g.index, observed.statefulSet)
          : renderGroup(inf, g.index, {
              plan: g.plan,
              planHash: g.planHash,
              pool: { name: g.pool, selector: g.kind === 'placed' ? g.selector : {} },
              inputsHash: decision.inputsHash,
              defaultImage: this.deps.options.defaultImage,
              defaultTolerations: this.deps.options.defaultTolerations,
            }),
      );
    }
    return desired;
  }

  /** One `SpecRejected` event per new reason a child was refused for. */
  private noteRefusal(inf: DiTInference, refused: string, events: PendingEvent[], log: Logger): void {
    if (stalledMessage(inf) === refused) return;
    events.push({ type: 'Warning', reason: EVENT_REASONS.specRejected, message: refused });
    log.warn({ reason: refused }, 'The API server refused a child object; waiting for a spec change');
  }

  /**
   * Writes the ConfigMap and Services, removes groups above `spec.replicas`, creates missing groups and
   * rolls the groups the rollout chose. Before the first write for an object, every child is applied as
   * a dry run, so an object the API server refuses leaves nothing behind. A refused object (422) is
   * returned as `refused` — retrying cannot help, only a spec change can; any other failed write as
   * `error`, retried with back-off. The rest of the reconcile still runs, so status says what happened.
   */
  private async applyChildren(
    inf: DiTInference,
    children: Children,
    desired: ReadonlyMap<number, RenderedGroup>,
    rollout: Rollout,
    decision: PlacementDecision,
    events: PendingEvent[],
    log: Logger,
  ): Promise<{ error?: string; refused?: string }> {
    try {
      if (isFirstCreation(children)) await this.dryRunChildren(inf, desired, decision);
      await this.applyConfigMapAndServices(inf, children, decision, rollout.stillRunning);
      await this.removeExtraGroups(inf, children, desired.size, events, log);
      // A group's pods mount its Secret and start behind its NetworkPolicy: both exist first.
      await this.network.ensure(inf, desired.keys());
      const created: Promise<unknown>[] = [];
      for (const [index, group] of desired) {
        const observed = children.groups.get(index);
        if (!observed) {
          created.push(this.applier.apply(RESOURCES.statefulSet, group.statefulSet));
          events.push({
            type: 'Normal',
            reason: EVENT_REASONS.groupCreated,
            message: `created group ${group.statefulSet.metadata?.name}`,
          });
        } else if (rollout.toRoll.has(index)) {
          await this.groups.roll(observed, group, events, log);
        } else if (
          revisionOf(observed.statefulSet) === group.revision &&
          !containsAll(observed.statefulSet.metadata, group.statefulSet.metadata)
        ) {
          // Same pods, new bookkeeping (its pool, the spec it was planned from): only metadata changes.
          created.push(this.applier.apply(RESOURCES.statefulSet, group.statefulSet));
        }
      }
      await Promise.all(created);
      await this.applyPodGroups(inf, decision.groups);
      // Applied every round like the PodGroups (no cache of them); an unchanged apply changes nothing.
      await this.applier.apply(RESOURCES.podDisruptionBudget, renderDisruptionBudget(inf));
      return {};
    } catch (err) {
      if (err instanceof ApiError && isInvalid(err)) return { refused: refusalMessage(err) };
      log.warn({ err }, 'Applying children failed; retrying with back-off');
      return { error: err instanceof Error ? err.message : String(err) };
    }
  }

  /** Every child of a new object, applied with dryRun=All: the API server checks them, nothing is stored. */
  private async dryRunChildren(
    inf: DiTInference,
    desired: ReadonlyMap<number, RenderedGroup>,
    decision: PlacementDecision,
  ): Promise<void> {
    const cm = renderPlanConfigMap(inf, recordedPlans(decision, new Map()));
    await Promise.all([
      this.applier.dryRunApply(RESOURCES.configMap, cm),
      this.applier.dryRunApply(RESOURCES.service, renderPeersService(inf)),
      this.applier.dryRunApply(RESOURCES.service, renderServingService(inf)),
      this.applier.dryRunApply(RESOURCES.podDisruptionBudget, renderDisruptionBudget(inf)),
      ...[...desired.values()].map((g) => this.applier.dryRunApply(RESOURCES.statefulSet, g.statefulSet)),
      this.network.dryRun(inf, desired.keys()),
    ]);
  }

  /**
   * The failure policy, group by group (groups just created or rolled are only reported), and each
   * group's status. A failed write is reported, not thrown, so the remaining groups are still handled.
   */
  private async runGroupPolicies(
    inf: DiTInference,
    children: Children,
    desired: ReadonlyMap<number, RenderedGroup>,
    toRoll: ReadonlySet<number>,
    events: PendingEvent[],
    log: Logger,
  ): Promise<{ statuses: GroupStatus[]; gaveUp?: string; requeueAfterMs?: number; error?: string }> {
    const statuses: GroupStatus[] = [];
    let gaveUp: string | undefined;
    let requeueAfterMs: number | undefined;
    let error: string | undefined;
    for (const g of [...children.groups.values()].sort((a, b) => a.index - b.index)) {
      const d = desired.get(g.index);
      if (!d) continue;
      if (toRoll.has(g.index)) {
        statuses.push(rolledGroupStatus(g, d.revision, d.statefulSet.spec.replicas));
        continue;
      }
      let action: GroupAction = { type: 'none' };
      try {
        action = await this.groups.applyFailurePolicy(inf, g, events, log);
        statuses.push(decidedGroupStatus(inf, g, action, d.revision));
      } catch (err) {
        error ??= err instanceof Error ? err.message : String(err);
        log.warn({ err, group: g.statefulSet.metadata?.name }, 'Applying the failure policy failed');
        statuses.push(observedGroupStatus(inf, g));
      }
      if (action.type === 'giveUp') gaveUp ??= `group ${g.statefulSet.metadata?.name}: ${action.reason}`;
      if (action.type === 'waitBackoff')
        requeueAfterMs = Math.min(requeueAfterMs ?? action.retryInMs, action.retryInMs);
      await this.groups.labelRoles(g, log);
    }
    for (const [index, d] of desired) {
      if (!children.groups.has(index)) {
        statuses.push(
          newGroupStatus(d.statefulSet.metadata?.name ?? '', index, d.revision, d.statefulSet.spec.replicas),
        );
      }
    }
    return {
      statuses,
      ...(gaveUp !== undefined ? { gaveUp } : {}),
      ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}),
      ...(error !== undefined ? { error } : {}),
    };
  }

  private recordGroupMetrics(
    namespace: string,
    name: string,
    ready: number,
    groups: readonly GroupStatus[],
  ): void {
    this.deps.metrics.recordGroups(
      namespace,
      name,
      ready,
      groups.filter((g) => g.phase === 'Recreating').length,
    );
  }

  private decidePlacement(inf: DiTInference, children: Children): PlacementState {
    const badName = nameProblem(inf.metadata.name ?? '');
    if (badName !== undefined)
      return { rejected: { reason: CONDITION_REASONS.invalidSpec, message: badName } };
    return decidePlacement({
      inference: inf,
      children,
      nodes: this.deps.caches.nodes.list(),
      boundPods: this.deps.caches.boundPods.list(),
      defaultTolerations: this.deps.options.defaultTolerations,
    });
  }

  private async applyConfigMapAndServices(
    inf: DiTInference,
    children: Children,
    decision: PlacementDecision,
    stillRunning: ReadonlyMap<string, Plan>,
  ): Promise<void> {
    const cm = renderPlanConfigMap(inf, recordedPlans(decision, stillRunning));
    const observedCm = children.planConfigMap;
    const cmCurrent =
      observedCm !== undefined &&
      canonicalJson(observedCm.data ?? {}) === canonicalJson(cm.data) &&
      containsAll(observedCm.metadata, cm.metadata);
    const writes: Promise<unknown>[] = [];
    if (!cmCurrent) writes.push(this.applier.apply(RESOURCES.configMap, cm));
    for (const svc of [renderPeersService(inf), renderServingService(inf)]) {
      const observed = children.services.get(svc.metadata?.name ?? '');
      if (!observed || !containsAll(observed, svc)) writes.push(this.applier.apply(RESOURCES.service, svc));
    }
    // Independent objects: written side by side (pods wait for their ConfigMap volume anyway).
    await Promise.all(writes);
  }

  /**
   * Gang provider Volcano: one PodGroup per group, sized by the group's plan, applied every round (there
   * is no cache of them, and an unchanged apply is a no-op on the server). Without Volcano's CRD this
   * fails with a clear message.
   */
  private async applyPodGroups(inf: DiTInference, groups: readonly GroupDecision[]): Promise<void> {
    if (inf.spec.placement?.gang?.provider !== 'Volcano') return;
    try {
      await Promise.all(
        groups.map((g) =>
          this.applier.apply(RESOURCES.volcanoPodGroup, renderVolcanoPodGroup(inf, g.index, g.plan)),
        ),
      );
    } catch (err) {
      if (isNotFound(err)) {
        throw new Error(
          'spec.placement.gang.provider is Volcano but the cluster has no podgroups.scheduling.volcano.sh API: install Volcano or choose another gang provider',
          { cause: err },
        );
      }
      throw err;
    }
  }

  /** Scale down: whole groups, highest index first. */
  private async removeExtraGroups(
    inf: DiTInference,
    children: Children,
    replicas: number,
    events: PendingEvent[],
    log: Logger,
  ): Promise<void> {
    const namespace = inf.metadata.namespace ?? '';
    for (const index of groupsToRemove([...children.groups.keys()], replicas)) {
      const sts = children.groups.get(index)?.statefulSet;
      const stsName = sts?.metadata?.name ?? '';
      await this.applier.delete(
        RESOURCES.statefulSet,
        { namespace, name: stsName },
        { uid: sts?.metadata?.uid, propagationPolicy: 'Background' },
      );
      if (inf.spec.placement?.gang?.provider === 'Volcano') {
        await this.applier.delete(RESOURCES.volcanoPodGroup, { namespace, name: stsName });
      }
      await this.network.remove(inf, index);
      log.info({ group: stsName }, 'Removed group (scale down)');
      events.push({
        type: 'Normal',
        reason: EVENT_REASONS.groupRemoved,
        message: `removed group ${stsName}`,
      });
    }
  }

  /** The object with the status this process wrote last, when the cache has not caught up with it. */
  private withLatestStatus(key: string, cached: DiTInference): DiTInference {
    const last = this.written.get(key);
    return last && last.before === cached.metadata.resourceVersion
      ? { ...cached, status: last.status }
      : cached;
  }

  private async writeStatus(
    inf: DiTInference,
    status: DiTInferenceStatus,
    events: readonly PendingEvent[],
    log: Logger,
  ): Promise<void> {
    if (canonicalJson(status) !== canonicalJson(inf.status ?? {})) {
      await this.deps.client.mergePatch(
        RESOURCES.ditInference,
        { namespace: inf.metadata.namespace ?? '', name: inf.metadata.name ?? '', subresource: 'status' },
        { status },
        this.deps.options.fieldManager,
      );
      this.written.set(`${inf.metadata.namespace}/${inf.metadata.name}`, {
        before: inf.metadata.resourceVersion,
        status,
      });
      log.debug({ ready: status.groupsReady }, 'Status written');
    }
    const involved = { ...inf, apiVersion: API_GROUP_VERSION, kind: KIND };
    await Promise.all(events.map((e) => this.deps.recorder.emit(involved, e)));
  }
}

/** Nothing has been written for the object yet. */
function isFirstCreation(children: Children): boolean {
  return children.planConfigMap === undefined && children.services.size === 0 && children.groups.size === 0;
}

/** What the API server said about a child it refused, for status and the event. */
function refusalMessage(err: ApiError): string {
  return `the API server refused a child object: ${err.detail}; change the spec field it names (nothing was created for the refused object)`;
}

function stalledMessage(inf: DiTInference): string | undefined {
  return inf.status?.conditions?.find((c) => c.type === CONDITION_TYPES.stalled)?.message;
}

/** What the roll decided this round. */
interface Rollout {
  /** Existing groups moved to the desired revision now. */
  readonly toRoll: ReadonlySet<number>;
  /** Existing groups (within replicas) not on the desired revision, rolled now or later. */
  readonly outdatedCount: number;
  /** Plans that groups left on an older revision still mount, by plan hash. */
  readonly stillRunning: ReadonlyMap<string, Plan>;
}

/** Which outdated groups move to the new revision this round (at most one group down at a time). */
function decideRollout(
  children: Children,
  desired: ReadonlyMap<number, RenderedGroup>,
  decision: PlacementDecision,
): Rollout {
  const rolling = [...children.groups.values()]
    .filter((g) => desired.has(g.index))
    .map((g) => ({
      index: g.index,
      upToDate: revisionOf(g.statefulSet) === desired.get(g.index)?.revision,
      available: groupAvailable(g),
    }));
  const toRoll = new Set(groupsToRoll(rolling));
  const stillRunning = new Map<string, Plan>();
  for (const g of rolling) {
    if (g.upToDate || toRoll.has(g.index)) continue;
    const h = children.groups.get(g.index)?.statefulSet.metadata?.annotations?.[ANNOTATIONS.planHash];
    const p = h && !decision.plans.has(h) ? recordedPlan(children.planConfigMap, h) : undefined;
    if (h && p) stillRunning.set(h, p);
  }
  return { toRoll, outdatedCount: rolling.filter((g) => !g.upToDate).length, stillRunning };
}

/** What the plan ConfigMap records: the best pool's plan, every plan a group runs or still mounts. */
function recordedPlans(decision: PlacementDecision, stillRunning: ReadonlyMap<string, Plan>) {
  return {
    primary: decision.primary.plan,
    byHash: new Map([...stillRunning, ...decision.plans]),
    poolPlans: decision.poolPlans,
    inputsHash: decision.inputsHash,
  };
}

/** A group kept as it is: its own StatefulSet is what it should have. */
function keptGroup(index: number, sts: V1StatefulSet): RenderedGroup {
  return { index, revision: revisionOf(sts) ?? '', statefulSet: sts as GroupStatefulSet };
}

/** Group statuses with their pool, their plan and, for a group the scheduler cannot place, its reason. */
function withPlacement(
  statuses: readonly GroupStatus[],
  decision: PlacementDecision,
  capacity: CapacityAssessment,
): GroupStatus[] {
  return statuses.map((s) => {
    const d = decision.groups.find((g) => g.index === s.index);
    const pending = capacity.pending.find((p) => p.index === s.index)?.reason;
    return {
      ...s,
      ...(d ? { pool: d.pool, plan: planShortString(d.plan.degrees) } : {}),
      ...(s.message === undefined && pending !== undefined ? { message: pending.slice(0, 2048) } : {}),
    };
  });
}
