import { describe, expect, it } from 'vitest';
import { backoffMs, decideGroupAction } from '../../src/operator/policy/failure-policy.js';
import { groupFailure, readBookkeeping } from '../../src/operator/policy/group-observation.js';
import { groupsToRemove, groupsToRoll } from '../../src/operator/policy/rollout.js';
import type { FailurePolicySpec } from '../../src/shared/api/v1alpha1/index.js';
import { buildPod, buildStatefulSet } from './support/builders.js';

const policy: FailurePolicySpec = {
  type: 'RecreateGroup',
  restartLimit: 2,
  backoffSeconds: 10,
  maxBackoffSeconds: 600,
};
const T0 = Date.parse('2026-01-01T00:00:00Z');
const members = { 'tessera.dev/members': 'g-0=uid-g-0,g-1=uid-g-1' };

function decide(opts: {
  annotations?: Record<string, string>;
  pods: ReturnType<typeof buildPod>[];
  now?: number;
  p?: FailurePolicySpec;
}) {
  const sts = buildStatefulSet('g', { annotations: opts.annotations ?? {} });
  return decideGroupAction({
    group: { index: 0, statefulSet: sts, pods: opts.pods },
    book: readBookkeeping(sts),
    policy: opts.p ?? policy,
    restartToken: '',
    revision: 'r1',
    desiredPods: 2,
    now: opts.now ?? T0 + 3_600_000,
  });
}

describe('failure detection', () => {
  const book = readBookkeeping(buildStatefulSet('g', { annotations: members }));
  it.each([
    ['a failed pod', [buildPod('g-0', { phase: 'Failed' }), buildPod('g-1')], /g-0 failed/],
    ['a restarted container', [buildPod('g-0'), buildPod('g-1', { restarts: 1 })], /g-1 restarted/],
    [
      'a member being deleted',
      [buildPod('g-0', { terminating: true }), buildPod('g-1')],
      /g-0 is being deleted/,
    ],
    [
      'a member replaced under its name',
      [buildPod('g-0', { uid: 'new' }), buildPod('g-1')],
      /g-0 was deleted or replaced/,
    ],
    ['a member gone', [buildPod('g-1')], /g-0 was deleted or replaced/],
  ])('notices %s', (_name, pods, reason) => {
    expect(groupFailure(pods, book)).toMatch(reason);
  });
  it('sees nothing wrong in a healthy group', () => {
    expect(groupFailure([buildPod('g-0'), buildPod('g-1')], book)).toBeUndefined();
  });
});

describe('decideGroupAction', () => {
  it('records the members of a complete group once', () => {
    expect(decide({ pods: [buildPod('g-0'), buildPod('g-1')] })).toEqual({
      type: 'recordMembers',
      members: [
        { name: 'g-0', uid: 'uid-g-0' },
        { name: 'g-1', uid: 'uid-g-1' },
      ],
    });
    expect(decide({ annotations: members, pods: [buildPod('g-0'), buildPod('g-1')] })).toEqual({
      type: 'none',
    });
  });
  it('recreates the whole group after the back-off, counting the restart', () => {
    const pods = [buildPod('g-0', { uid: 'new' }), buildPod('g-1')];
    expect(decide({ annotations: members, pods })).toMatchObject({
      type: 'recreate',
      restarts: 1,
      pods: [
        { name: 'g-0', uid: 'new' },
        { name: 'g-1', uid: 'uid-g-1' },
      ],
    });
  });
  it('waits out the back-off, doubling per restart', () => {
    const annotations = {
      ...members,
      'tessera.dev/restarts': '1',
      'tessera.dev/recreated-at': '2026-01-01T00:00:00Z',
    };
    const pods = [buildPod('g-0', { uid: 'new' }), buildPod('g-1')];
    expect(decide({ annotations, pods, now: T0 + 5_000 })).toMatchObject({
      type: 'waitBackoff',
      retryInMs: 15_000,
    });
    expect(decide({ annotations, pods, now: T0 + 20_000 })).toMatchObject({ type: 'recreate', restarts: 2 });
    expect(backoffMs(policy, 0)).toBe(10_000);
    expect(backoffMs(policy, 10)).toBe(600_000);
  });
  it('gives up at the restart limit', () => {
    const annotations = { ...members, 'tessera.dev/restarts': '2' };
    expect(decide({ annotations, pods: [buildPod('g-0', { restarts: 3 }), buildPod('g-1')] })).toMatchObject({
      type: 'giveUp',
      reason: expect.stringContaining('restartLimit'),
    });
  });
  it('finishes a replacement before anything else, then clears it', () => {
    const annotations = { 'tessera.dev/recreating': 'g-0=uid-g-0,g-1=uid-g-1' };
    expect(decide({ annotations, pods: [buildPod('g-0'), buildPod('g-1', { terminating: true })] })).toEqual({
      type: 'finishReplacing',
      toDelete: [{ name: 'g-0', uid: 'uid-g-0' }],
      cleared: false,
    });
    expect(decide({ annotations, pods: [buildPod('g-0', { uid: 'n0' })] })).toEqual({
      type: 'finishReplacing',
      toDelete: [],
      cleared: true,
    });
  });
  it('leaves pods to the StatefulSet with policy None', () => {
    const pods = [buildPod('g-0', { restarts: 4 }), buildPod('g-1')];
    expect(decide({ annotations: members, pods, p: { ...policy, type: 'None' } })).toEqual({ type: 'none' });
  });
});

describe('rollout', () => {
  it('rolls one available group at a time, lowest index first', () => {
    const all = [0, 1, 2].map((index) => ({ index, upToDate: false, available: true }));
    expect(groupsToRoll(all)).toEqual([0]);
    expect(groupsToRoll([{ index: 0, upToDate: true, available: false }, ...all.slice(1)])).toEqual([]);
    expect(groupsToRoll([{ index: 0, upToDate: true, available: true }, ...all.slice(1)])).toEqual([1]);
  });
  it('rolls groups that are down anyway at once', () => {
    expect(
      groupsToRoll([
        { index: 0, upToDate: false, available: false },
        { index: 1, upToDate: false, available: true },
      ]),
    ).toEqual([0]);
  });
  it('removes groups above the replica count, highest first', () => {
    expect(groupsToRemove([0, 1, 2, 3], 1)).toEqual([3, 2, 1]);
    expect(groupsToRemove([0], 1)).toEqual([]);
  });
});
