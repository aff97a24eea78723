/**
 * The `ModelFetched` condition of a hub-sourced DiTInference, read from its pods' `fetch-model` init
 * containers as the kubelet reports them. A download the hub refused (401/403, 404) or whose bytes do
 * not match the hub's metadata cannot succeed by retrying: that is `Stalled` with the downloader's own
 * reason and words (its termination message). An unreachable hub is only `ModelFetched=False`: the
 * kubelet retries the init container, which resumes.
 */
import type { V1ContainerStateTerminated, V1Pod } from '@kubernetes/client-node';
import {
  CONDITION_REASONS,
  CONDITION_TYPES,
  type DiTInference,
  type DiTInferenceStatus,
} from '../../shared/api/v1alpha1/index.js';
import { MODEL_FETCH_CONTAINER } from '../render/model-fetch.js';
import { type ConditionInput, mergeConditions } from './conditions.js';

/** Failures a person must fix (token, repository name, the hub's content). */
const NEEDS_A_PERSON: ReadonlySet<string> = new Set([
  CONDITION_REASONS.hubUnauthorized,
  CONDITION_REASONS.hubNotFound,
  CONDITION_REASONS.checksumMismatch,
]);
const KNOWN: ReadonlySet<string> = new Set([
  ...NEEDS_A_PERSON,
  CONDITION_REASONS.hubUnreachable,
  CONDITION_REASONS.hubProtocolError,
]);

interface PodFetch {
  pod: string;
  state: 'done' | 'running' | 'waiting' | 'failed';
  reason?: string;
  message?: string;
}

function failure(pod: string, terminated: V1ContainerStateTerminated): PodFetch {
  const text = (terminated.message ?? '').trim();
  const match = /^([A-Za-z]+): ([\s\S]*)$/.exec(text);
  const reason = match?.[1] && KNOWN.has(match[1]) ? match[1] : CONDITION_REASONS.hubProtocolError;
  const message =
    match?.[1] && KNOWN.has(match[1]) ? (match[2] ?? '') : text || `exit code ${terminated.exitCode}`;
  return { pod, state: 'failed', reason, message };
}

export function podFetch(pod: V1Pod): PodFetch {
  const name = pod.metadata?.name ?? '';
  const status = pod.status?.initContainerStatuses?.find((c) => c.name === MODEL_FETCH_CONTAINER);
  if (!status) return { pod: name, state: 'waiting' };
  const now = status.state?.terminated;
  if (now && now.exitCode === 0) return { pod: name, state: 'done' };
  if (now) return failure(name, now);
  // Restarting after a failure: the last run's message says why.
  const last = status.lastState?.terminated;
  if (last && last.exitCode !== 0 && !status.state?.running) return failure(name, last);
  return { pod: name, state: status.state?.running ? 'running' : 'waiting' };
}

export interface ModelFetchOutcome {
  condition: ConditionInput;
  stalled?: ConditionInput;
}

export function modelFetchOutcome(inf: DiTInference, pods: readonly V1Pod[]): ModelFetchOutcome | undefined {
  if (!inf.spec.model.source.hub) return undefined;
  const repo = `${inf.spec.model.source.hub.repository}@${inf.spec.model.source.hub.revision}`;
  const fetches = pods.map(podFetch);
  const failed =
    fetches.find((f) => f.state === 'failed' && NEEDS_A_PERSON.has(f.reason ?? '')) ??
    fetches.find((f) => f.state === 'failed');
  if (failed) {
    const condition: ConditionInput = {
      type: CONDITION_TYPES.modelFetched,
      status: 'False',
      reason: failed.reason ?? CONDITION_REASONS.hubProtocolError,
      message: `pod ${failed.pod} could not fetch ${repo}: ${failed.message}`,
    };
    return NEEDS_A_PERSON.has(condition.reason)
      ? { condition, stalled: { ...condition, type: CONDITION_TYPES.stalled, status: 'True' } }
      : { condition };
  }
  const done = fetches.filter((f) => f.state === 'done').length;
  if (pods.length > 0 && done === pods.length) {
    return {
      condition: {
        type: CONDITION_TYPES.modelFetched,
        status: 'True',
        reason: CONDITION_REASONS.modelFetchedAll,
        message: `${repo} is on all ${done} pod(s)`,
      },
    };
  }
  const running = fetches.filter((f) => f.state === 'running').map((f) => f.pod);
  return {
    condition: {
      type: CONDITION_TYPES.modelFetched,
      status: 'False',
      reason: CONDITION_REASONS.modelFetching,
      message:
        running.length > 0
          ? `fetching ${repo} on ${running.join(', ')} (${done}/${pods.length} pods done; progress: kubectl logs <pod> -c ${MODEL_FETCH_CONTAINER})`
          : `waiting for pods to fetch ${repo} (${done}/${pods.length} done)`,
    },
  };
}

/**
 * The status with `ModelFetched` added, and a download that needs a person turned into `Stalled` (Ready
 * False with the same reason, no `Reconciling`, as kstatus expects of a failed object).
 */
export function withModelFetch(
  status: DiTInferenceStatus,
  inf: DiTInference,
  pods: readonly V1Pod[],
  now: Date,
): DiTInferenceStatus {
  const outcome = modelFetchOutcome(inf, pods);
  if (!outcome) return status;
  const generation = inf.metadata.generation;
  const alreadyStalled = status.conditions?.some(
    (c) => c.type === CONDITION_TYPES.stalled && c.status === 'True',
  );
  const updates: ConditionInput[] = [outcome.condition];
  let conditions = status.conditions ?? [];
  if (outcome.stalled && !alreadyStalled) {
    updates.push(outcome.stalled, {
      type: CONDITION_TYPES.ready,
      status: 'False',
      reason: outcome.stalled.reason,
      message: outcome.stalled.message,
    });
    conditions = conditions.filter((c) => c.type !== CONDITION_TYPES.reconciling);
  }
  return { ...status, conditions: mergeConditions(conditions, updates, generation, now) };
}
