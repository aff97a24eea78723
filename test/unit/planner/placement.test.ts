import { describe, expect, it } from 'vitest';
import { MESH_AXES } from '../../../src/shared/plan/index.js';
import {
  axisLink,
  axisLinks,
  linkBetween,
  podLayout,
  rankPlacements,
} from '../../../src/shared/planner/index.js';
import { axisStride, peersByLevel, rankSpace } from '../../../src/shared/planner/placement.js';
import { deg, h100Nodes, l40Node } from './fixtures.js';

describe('placement', () => {
  it('spans ceil(gpus / gpusPerNode) pods with equal GPU counts', () => {
    expect(podLayout(4, 8)).toEqual({ podsPerGroup: 1, gpusPerPod: 4 });
    expect(podLayout(16, 8)).toEqual({ podsPerGroup: 2, gpusPerPod: 8 });
    expect(podLayout(12, 8)).toEqual({ podsPerGroup: 2, gpusPerPod: 6 });
    expect(podLayout(9, 8)).toBeNull();
  });

  it('keeps the ranks of one pod contiguous', () => {
    const ranks = rankPlacements(12, 6);
    expect(ranks[5]).toEqual({ rank: 5, pod: 0, localRank: 5 });
    expect(ranks[6]).toEqual({ rank: 6, pod: 1, localRank: 0 });
    expect(ranks.every((r) => r.rank === r.pod * 6 + r.localRank)).toBe(true);
  });

  it('classifies the link between two ranks', () => {
    // An 8-GPU PCIe node: a switch per GPU pair, two pairs per CPU socket.
    const pcie = rankSpace(l40Node(), 8);
    expect(linkBetween(0, 1, pcie)).toBe('switch');
    expect(linkBetween(0, 3, pcie)).toBe('domain');
    expect(linkBetween(3, 4, pcie)).toBe('node');
    expect(linkBetween(1, 2, rankSpace(l40Node({ gpusPerSwitch: 4 }), 8))).toBe('switch');
    const two = rankSpace(h100Nodes(2), 8);
    expect(linkBetween(0, 7, two)).toBe('domain');
    expect(linkBetween(7, 8, two)).toBe('network');
  });

  it('puts the inner axes inside a node and the outer ones across nodes', () => {
    const links = axisLinks(deg({ ulysses: 8, cfg: 2 }), rankSpace(h100Nodes(2), 8));
    expect(links).toEqual({
      ulysses: 'domain',
      ring: 'none',
      pipefusion: 'none',
      cfg: 'network',
      dataParallel: 'none',
    });
    // On an 8×L40 box the second socket is a separate domain: Ulysses 8 crosses it, Ulysses 4 does not.
    expect(axisLinks(deg({ ulysses: 8 }), rankSpace(l40Node(), 8)).ulysses).toBe('node');
    expect(axisLinks(deg({ ulysses: 4, ring: 2 }), rankSpace(l40Node(), 8))).toMatchObject({
      ulysses: 'domain',
      ring: 'node',
    });
    // Ulysses 2 stays under one PCIe switch; on NVLink there is no switch level.
    expect(axisLinks(deg({ ulysses: 2, ring: 4 }), rankSpace(l40Node(), 8))).toMatchObject({
      ulysses: 'switch',
      ring: 'node',
    });
    expect(axisLinks(deg({ ulysses: 2 }), rankSpace(h100Nodes(), 8)).ulysses).toBe('domain');
  });

  it('counts the peers of an all-to-all behind each link level', () => {
    const pcie = rankSpace(l40Node(), 8);
    expect(peersByLevel('ulysses', deg({ ulysses: 8 }), pcie)).toEqual({
      switch: 1,
      domain: 2,
      node: 4,
      network: 0,
    });
    expect(peersByLevel('ring', deg({ ulysses: 2, ring: 4 }), pcie)).toEqual({
      switch: 0,
      domain: 1,
      node: 2,
      network: 0,
    });
    const two = rankSpace(h100Nodes(2), 8);
    expect(peersByLevel('ulysses', deg({ ulysses: 16 }), two)).toEqual({
      switch: 0,
      domain: 7,
      node: 0,
      network: 8,
    });
  });

  it('finds the slowest link of an axis as checking every one of its groups does', () => {
    const order = ['switch', 'domain', 'node', 'network'] as const;
    // Every group's first and last member, the way the links were found before only pod residues were visited.
    const everyGroup = (
      axis: (typeof MESH_AXES)[number],
      d: ReturnType<typeof deg>,
      space: ReturnType<typeof rankSpace>,
    ) => {
      const k = d[axis];
      if (k === 1) return 'none';
      const stride = axisStride(axis, d);
      const world = d.dataParallel * d.cfg * d.pipefusion * d.ring * d.ulysses;
      let worst = 0;
      for (let outer = 0; outer < world; outer += stride * k) {
        for (let inner = 0; inner < stride; inner++) {
          const first = outer + inner;
          worst = Math.max(worst, order.indexOf(linkBetween(first, first + stride * (k - 1), space)));
        }
      }
      return order[worst];
    };
    let compared = 0;
    for (const [node, pods] of [
      [l40Node(), [1, 2, 3, 4, 6, 8]],
      [h100Nodes(4), [2, 4, 6, 8]],
      [l40Node({ gpusPerSwitch: 4 }), [4, 8]],
    ] as const) {
      for (const gpusPerPod of pods) {
        const space = rankSpace(node, gpusPerPod);
        for (const [u, r, pp, cfg, dp] of [
          [2, 1, 1, 1, 1],
          [2, 3, 1, 1, 2],
          [3, 2, 2, 2, 1],
          [1, 2, 4, 1, 3],
          [4, 1, 3, 2, 1],
          [1, 1, 1, 2, 12],
          [8, 2, 1, 1, 1],
          [2, 2, 2, 2, 2],
        ] as const) {
          const d = deg({ ulysses: u, ring: r, pipefusion: pp, cfg, dataParallel: dp });
          if ((u * r * pp * cfg * dp) % gpusPerPod !== 0) continue;
          for (const axis of MESH_AXES) {
            expect(axisLink(axis, d, space), `${axis} of ${JSON.stringify(d)} in pods of ${gpusPerPod}`).toBe(
              everyGroup(axis, d, space),
            );
            compared++;
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(100);
  });
});
