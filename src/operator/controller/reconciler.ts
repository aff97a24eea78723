import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import {
  ANNOTATIONS,
  API_GROUP_VERSION,
  CONDITION_REASONS,
  CONDITION_TYPES,
  type DiTInference,
  type DiTInferenceStatus,
  type GroupStatus,
  KIND,
  LABELS,
  type Toleration,
} from '../../shared/api/v1alpha1/index.js';
import type { Logger } from '../../shared/log.js';
import { type Plan, planShortString } from '../../shared/plan/index.js';
import { POD_INDEX_LABEL } from '../../shared/runtime-contract.js';
import { Applier, containsAll } from '../apply/applier.js';
import { EVENT_REASONS, type EventRecorder, type PendingEvent } from '../events/recorder.js';
import type { KubeClient } from '../kube/client.js';
import { splitKey } from '../kube/objects.js';
import { RESOURCES } from '../kube/resources.js';
import type { OperatorMetrics } from '../metrics/operator-metrics.js';
import { decideGroupAction, effectiveRestarts, type GroupAction } from '../policy/failure-policy.js';
import {
  formatPodRefs,
  isPodReady,
  type ObservedGroup,
  podRef,
  podRevision,
  readBookkeeping,
} from '../policy/group-observation.js';
import { groupsToRemove, groupsToRoll } from '../policy/rollout.js';
import type { Outcome } from '../queue/work-queue.js';
import { renderPlanConfigMap } from '../render/configmap.js';
import { canonicalJson } from '../render/hash.js';
import { OPERATOR_ANNOTATIONS } from '../render/keys.js';
import { groupName, MAX_INFERENCE_NAME_LENGTH } from '../render/names.js';
import { renderPeersService, renderServingService } from '../render/services.js';
import { type RenderedGroup, renderGroup } from '../render/statefulset.js';
import { computeStatus, type PlanState } from '../status/compute.js';
import { isTrue } from '../status/conditions.js';
import { podCouldLandOn } from '../topology/node-match.js';
import { resolveTopology, type TopologyOutcome } from '../topology/resolve.js';
import { type Caches, type Children, observeChildren } from './children.js';
import { currentRecordedPlan, decidePlan, planHash, planInputsHash, recordedPlan } from './plan-decision.js';

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

/** What one reconcile decided for one group, for status and for the requeue time. */
interface GroupResult {
  readonly status: GroupStatus;
  readonly action: GroupAction;
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

  constructor(private readonly deps: ReconcilerDeps) {
    this.applier = new Applier(deps.client, deps.options.fieldManager);
    this.now = deps.now ?? (() => new Date());
  }

  async reconcile(key: string): Promise<Outcome> {
    const inf = this.deps.caches.inferences.get(key);
    // Deleted: the garbage collector removes the children through their owner references.
    if (!inf || inf.metadata.deletionTimestamp) return {};
    const { namespace, name } = splitKey(key);
    const log = this.deps.log.child({ namespace, name });
    const events: PendingEvent[] = [];
    const children = observeChildren(inf, this.deps.caches);

    const topology = this.resolveTopology(inf);
    const planState = this.planFor(inf, children, topology);
    if (!('plan' in planState)) {
      // A spec that cannot run: say why and leave every child exactly as it is.
      const groups = this.observedGroupStatuses(inf, children);
      const status = computeStatus({
        inference: inf,
        topology,
        planState,
        groups,
        outdatedGroups: 0,
        gaveUp: undefined,
        applyError: undefined,
        now: this.now(),
      });
      const message = 'rejected' in planState ? planState.rejected.message : planState.unresolved;
      if (!isTrue(inf.status?.conditions, CONDITION_TYPES.stalled) || stalledMessage(inf) !== message) {
        events.push({ type: 'Warning', reason: EVENT_REASONS.specRejected, message });
        log.warn({ reason: message }, 'Spec rejected; no child created or changed');
      }
      await this.writeStatus(inf, status, events, log);
      return {};
    }

    const plan = planState.plan;
    const currentPlanHash = planHash(plan);
    const previousPlan = currentRecordedPlan(children.planConfigMap);
    if (!planState.reused && (previousPlan === undefined || planHash(previousPlan) !== currentPlanHash)) {
      events.push({
        type: 'Normal',
        reason: EVENT_REASONS.planChosen,
        message: `${planShortString(plan.degrees)}: ${plan.podsPerGroup} pod(s) × ${plan.gpusPerPod} GPU(s) per group. ${plan.reason}`,
      });
      log.info({ plan: planShortString(plan.degrees), gpusPerGroup: plan.gpusPerGroup }, 'Plan chosen');
    }

    const inputs = {
      plan,
      planHash: currentPlanHash,
      defaultImage: this.deps.options.defaultImage,
      defaultTolerations: this.deps.options.defaultTolerations,
    };
    const replicas = inf.spec.replicas;
    const desired = new Map<number, RenderedGroup>();
    for (let i = 0; i < replicas; i++) desired.set(i, renderGroup(inf, i, inputs));

    // Which outdated groups move to the new revision this round (at most one group down at a time).
    const rolling = [...children.groups.values()]
      .filter((g) => g.index < replicas)
      .map((g) => ({
        index: g.index,
        upToDate: revisionOf(g.statefulSet) === desired.get(g.index)?.revision,
        available: groupAvailable(g),
      }));
    const toRoll = new Set(groupsToRoll(rolling));
    const outdated = rolling.filter((g) => !g.upToDate && !toRoll.has(g.index));

    // The ConfigMap keeps the plans that groups not rolled yet still mount.
    const stillRunning = new Map<string, Plan>();
    for (const g of outdated) {
      const h = children.groups.get(g.index)?.statefulSet.metadata?.annotations?.[ANNOTATIONS.planHash];
      const p = h && h !== currentPlanHash ? recordedPlan(children.planConfigMap, h) : undefined;
      if (h && p) stillRunning.set(h, p);
    }

    let applyError: string | undefined;
    try {
      await this.applyConfigMapAndServices(inf, children, { plan, hash: currentPlanHash }, stillRunning);
      await this.removeExtraGroups(inf, children, replicas, events, log);
      const created: Promise<unknown>[] = [];
      for (const [index, group] of desired) {
        const observed = children.groups.get(index);
        if (!observed) {
          created.push(this.applier.apply(RESOURCES.statefulSet, group.statefulSet));
          events.push({
            type: 'Normal',
            reason: EVENT_REASONS.groupCreated,
            message: `created group ${groupName(name, index)}`,
          });
        } else if (toRoll.has(index)) {
          await this.rollGroup(observed, group, events, log);
        }
      }
      await Promise.all(created);
    } catch (err) {
      applyError = err instanceof Error ? err.message : String(err);
      log.warn({ err }, 'Applying children failed; retrying with back-off');
    }

    // Failure policy, group by group, on groups that were not just created or rolled.
    const results: GroupResult[] = [];
    let gaveUp: string | undefined;
    let requeueAfterMs: number | undefined;
    for (const g of [...children.groups.values()].sort((a, b) => a.index - b.index)) {
      if (g.index >= replicas) continue;
      const d = desired.get(g.index);
      if (!d) continue;
      const rolled = toRoll.has(g.index);
      let result: GroupResult;
      try {
        result = rolled
          ? this.rolledGroupResult(g, d)
          : await this.applyFailurePolicy(inf, g, d, events, log);
      } catch (err) {
        // Keep going: status and the events so far are still written; the key is retried with back-off.
        applyError ??= err instanceof Error ? err.message : String(err);
        log.warn({ err, group: g.statefulSet.metadata?.name }, 'Applying the failure policy failed');
        result = { action: { type: 'none' }, status: this.observedGroupStatus(inf, g) };
      }
      results.push(result);
      if (result.action.type === 'giveUp') gaveUp ??= `group ${result.status.name}: ${result.action.reason}`;
      if (result.action.type === 'waitBackoff') {
        requeueAfterMs = Math.min(requeueAfterMs ?? Number.POSITIVE_INFINITY, result.action.retryInMs);
      }
      if (!rolled) await this.labelRoles(g);
    }
    for (const [index, d] of desired) {
      if (!children.groups.has(index)) results.push(this.newGroupResult(name, index, d, plan));
    }

    const status = computeStatus({
      inference: inf,
      topology,
      planState,
      groups: results.map((r) => r.status),
      outdatedGroups: rolling.filter((g) => !g.upToDate).length,
      gaveUp,
      applyError,
      now: this.now(),
    });
    this.deps.metrics.groupsReady.set(status.readyReplicas ?? 0, { namespace, name });
    this.deps.metrics.groupsRestarting.set(results.filter((r) => r.status.phase === 'Recreating').length, {
      namespace,
      name,
    });
    await this.writeStatus(inf, status, events, log);
    if (applyError !== undefined) throw new Error(`applying children of ${key} failed: ${applyError}`);
    return requeueAfterMs !== undefined ? { requeueAfterMs } : {};
  }

  private resolveTopology(inf: DiTInference): TopologyOutcome {
    const selector = inf.spec.placement?.nodeSelector ?? {};
    const tolerations = [...(inf.spec.placement?.tolerations ?? []), ...this.deps.options.defaultTolerations];
    const candidates = this.deps.caches.nodes.list().filter((n) => podCouldLandOn(n, selector, tolerations));
    return resolveTopology(candidates, inf.spec.topology);
  }

  private planFor(inf: DiTInference, children: Children, topology: TopologyOutcome): PlanState {
    const name = inf.metadata.name ?? '';
    if (name.length > MAX_INFERENCE_NAME_LENGTH) {
      return {
        rejected: {
          reason: CONDITION_REASONS.invalidSpec,
          message: `metadata.name '${name}' has ${name.length} characters; at most ${MAX_INFERENCE_NAME_LENGTH} fit the names of its pods and their labels — use a shorter name`,
        },
      };
    }
    return decidePlan(inf, children.planConfigMap, topology);
  }

  private async applyConfigMapAndServices(
    inf: DiTInference,
    children: Children,
    current: { plan: Plan; hash: string },
    stillRunning: ReadonlyMap<string, Plan>,
  ): Promise<void> {
    const cm = renderPlanConfigMap(inf, { ...current, inputsHash: planInputsHash(inf) }, stillRunning);
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
      log.info({ group: stsName }, 'Removed group (scale down)');
      events.push({
        type: 'Normal',
        reason: EVENT_REASONS.groupRemoved,
        message: `removed group ${stsName}`,
      });
    }
  }

  /**
   * Moves a group to the new revision: apply the new StatefulSet, then replace all its pods together
   * (OnDelete strategy), because ranks of two templates cannot form one group.
   */
  private async rollGroup(
    g: ObservedGroup,
    d: RenderedGroup,
    events: PendingEvent[],
    log: Logger,
  ): Promise<void> {
    const at = {
      namespace: g.statefulSet.metadata?.namespace ?? '',
      name: g.statefulSet.metadata?.name ?? '',
    };
    await this.applier.apply(RESOURCES.statefulSet, d.statefulSet);
    const old = g.pods.filter((p) => podRevision(p) !== d.revision).map(podRef);
    await this.applier.annotate(RESOURCES.statefulSet, at, {
      [OPERATOR_ANNOTATIONS.recreating]: old.length > 0 ? formatPodRefs(old) : null,
      [OPERATOR_ANNOTATIONS.members]: null,
    });
    for (const p of old)
      await this.applier.delete(RESOURCES.pod, { namespace: at.namespace, name: p.name }, { uid: p.uid });
    log.info({ group: at.name, revision: d.revision }, 'Rolling group to new revision');
    events.push({
      type: 'Normal',
      reason: EVENT_REASONS.groupRolled,
      message: `rolling ${at.name} to revision ${d.revision}`,
    });
  }

  private async applyFailurePolicy(
    inf: DiTInference,
    g: ObservedGroup,
    d: RenderedGroup,
    events: PendingEvent[],
    log: Logger,
  ): Promise<GroupResult> {
    const sts = g.statefulSet;
    const at = { namespace: sts.metadata?.namespace ?? '', name: sts.metadata?.name ?? '' };
    const book = readBookkeeping(sts);
    const restartToken = inf.spec.restartToken ?? '';
    const revision = revisionOf(sts) ?? '';
    const desiredPods = sts.spec?.replicas ?? 0;
    const action = decideGroupAction({
      group: g,
      book,
      policy: inf.spec.failurePolicy,
      restartToken,
      revision,
      desiredPods,
      now: this.now().getTime(),
    });
    switch (action.type) {
      case 'finishReplacing':
        for (const p of action.toDelete) {
          await this.applier.delete(RESOURCES.pod, { namespace: at.namespace, name: p.name }, { uid: p.uid });
        }
        if (action.cleared)
          await this.applier.annotate(RESOURCES.statefulSet, at, { [OPERATOR_ANNOTATIONS.recreating]: null });
        break;
      case 'recordMembers':
        await this.applier.annotate(RESOURCES.statefulSet, at, {
          [OPERATOR_ANNOTATIONS.members]: formatPodRefs(action.members),
          [OPERATOR_ANNOTATIONS.restarts]: String(effectiveRestarts(book, restartToken)),
          [OPERATOR_ANNOTATIONS.restartsToken]: restartToken,
        });
        break;
      case 'recreate': {
        // Record first, then delete: if the operator dies in between, the next run finishes the deletion.
        await this.applier.annotate(RESOURCES.statefulSet, at, {
          [OPERATOR_ANNOTATIONS.recreating]: formatPodRefs(action.pods),
          [OPERATOR_ANNOTATIONS.members]: null,
          [OPERATOR_ANNOTATIONS.restarts]: String(action.restarts),
          [OPERATOR_ANNOTATIONS.restartsToken]: restartToken,
          [OPERATOR_ANNOTATIONS.recreatedAt]: this.now().toISOString(),
        });
        for (const p of action.pods) {
          await this.applier.delete(RESOURCES.pod, { namespace: at.namespace, name: p.name }, { uid: p.uid });
        }
        this.deps.metrics.groupRecreations.inc();
        log.warn({ group: at.name, reason: action.reason, restarts: action.restarts }, 'Recreated group');
        events.push({
          type: 'Warning',
          reason: EVENT_REASONS.groupRecreated,
          message: `recreated all pods of ${at.name} (restart ${action.restarts}): ${action.reason}`,
        });
        break;
      }
      case 'giveUp':
        if (!isTrue(inf.status?.conditions, CONDITION_TYPES.stalled)) {
          events.push({
            type: 'Warning',
            reason: EVENT_REASONS.restartLimitExceeded,
            message: `${at.name}: ${action.reason}`,
          });
        }
        break;
      case 'waitBackoff':
      case 'none':
        break;
    }
    const restarts =
      action.type === 'recreate' || action.type === 'waitBackoff' || action.type === 'giveUp'
        ? action.restarts
        : effectiveRestarts(book, restartToken);
    return {
      action,
      status: {
        name: at.name,
        index: g.index,
        readyPods: g.pods.filter(isPodReady).length,
        desiredPods,
        restarts,
        phase: groupPhase(g, action, revision, desiredPods, d.revision),
        revision,
      },
    };
  }

  private rolledGroupResult(g: ObservedGroup, d: RenderedGroup): GroupResult {
    return {
      action: { type: 'none' },
      status: {
        name: g.statefulSet.metadata?.name ?? '',
        index: g.index,
        readyPods: 0,
        desiredPods: d.statefulSet.spec.replicas,
        restarts: readBookkeeping(g.statefulSet).restarts,
        phase: 'Starting',
        revision: d.revision,
      },
    };
  }

  private newGroupResult(name: string, index: number, d: RenderedGroup, plan: Plan): GroupResult {
    return {
      action: { type: 'none' },
      status: {
        name: groupName(name, index),
        index,
        readyPods: 0,
        desiredPods: plan.podsPerGroup,
        restarts: 0,
        phase: 'Pending',
        revision: d.revision,
      },
    };
  }

  /** Group statuses from observation alone (for a rejected spec, where nothing is decided). */
  private observedGroupStatuses(inf: DiTInference, children: Children): GroupStatus[] {
    return [...children.groups.values()].map((g) => this.observedGroupStatus(inf, g));
  }

  private observedGroupStatus(inf: DiTInference, g: ObservedGroup): GroupStatus {
    const revision = revisionOf(g.statefulSet) ?? '';
    const desiredPods = g.statefulSet.spec?.replicas ?? 0;
    return {
      name: g.statefulSet.metadata?.name ?? '',
      index: g.index,
      readyPods: g.pods.filter(isPodReady).length,
      desiredPods,
      restarts: effectiveRestarts(readBookkeeping(g.statefulSet), inf.spec.restartToken ?? ''),
      phase: groupPhase(g, { type: 'none' }, revision, desiredPods, revision),
      revision,
    };
  }

  /** `tessera.dev/role`: leader on pod 0 (rank 0, serves HTTP), worker on the others; HPA selects leaders. */
  private async labelRoles(g: ObservedGroup): Promise<void> {
    for (const pod of g.pods) {
      const index = pod.metadata?.labels?.[POD_INDEX_LABEL];
      if (index === undefined) continue;
      const role = index === '0' ? 'leader' : 'worker';
      if (pod.metadata?.labels?.[LABELS.role] === role) continue;
      try {
        await this.applier.label(RESOURCES.pod, podAt(pod), { [LABELS.role]: role });
      } catch (err) {
        // The pod may be gone already; the next reconcile labels its replacement.
        this.deps.log.debug({ err, pod: pod.metadata?.name }, 'Labelling pod role failed');
      }
    }
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
      log.debug({ ready: status.groupsReady }, 'Status written');
    }
    const involved = { ...inf, apiVersion: API_GROUP_VERSION, kind: KIND };
    await Promise.all(events.map((e) => this.deps.recorder.emit(involved, e)));
  }
}

function revisionOf(sts: V1StatefulSet): string | undefined {
  return sts.metadata?.labels?.[LABELS.revision];
}

function podAt(pod: V1Pod): { namespace: string; name: string } {
  return { namespace: pod.metadata?.namespace ?? '', name: pod.metadata?.name ?? '' };
}

function stalledMessage(inf: DiTInference): string | undefined {
  return inf.status?.conditions?.find((c) => c.type === CONDITION_TYPES.stalled)?.message;
}

/** All pods of the group exist on the StatefulSet's revision and are Ready. */
function groupAvailable(g: ObservedGroup): boolean {
  const desired = g.statefulSet.spec?.replicas ?? 0;
  const revision = revisionOf(g.statefulSet);
  const ready = g.pods.filter((p) => isPodReady(p) && podRevision(p) === revision);
  return desired > 0 && ready.length === desired;
}

function groupPhase(
  g: ObservedGroup,
  action: GroupAction,
  revision: string,
  desiredPods: number,
  desiredRevision: string,
): GroupStatus['phase'] {
  if (action.type === 'giveUp') return 'Failed';
  if (action.type === 'recreate' || action.type === 'waitBackoff') return 'Recreating';
  if (action.type === 'finishReplacing' && !action.cleared) return 'Recreating';
  const current = g.pods.filter((p) => podRevision(p) === revision);
  if (revision === desiredRevision && current.length === desiredPods && current.every(isPodReady))
    return 'Ready';
  if (current.length < desiredPods || current.some((p) => !p.spec?.nodeName)) return 'Pending';
  return 'Starting';
}
