import { describe, expect, it } from 'vitest';
import { pipelinePlacement, placementProblems, replicaRanks } from '../../../src/shared/plan/index.js';
import { plan } from '../../../src/shared/planner/index.js';
import { deg, input } from './fixtures.js';

describe('plan.pipeline placement fields (text encoders, VAE decode)', () => {
  it('the planner writes text encoders on the leader and the VAE decode over a replica', () => {
    const single = plan(input('flux-dev', { policy: { gpusPerGroup: 4, allowPipefusion: false } })).chosen;
    expect(single.pipeline.textEncoders).toBe('leader');
    expect(single.pipeline.vaeDecode).toEqual({ ranks: 4 });
    const replicas = plan(
      input('flux-dev', {
        request: { maxBatch: 8 },
        policy: { gpusPerGroup: 8, objective: 'throughput', degrees: deg({ dataParallel: 4, ulysses: 2 }) },
      }),
    ).chosen;
    expect(replicas.pipeline.vaeDecode).toEqual({ ranks: 2 });
    expect(placementProblems(replicas)).toEqual([]);
  });

  it('a plan written before the fields existed gets the contract defaults', () => {
    const old = { degrees: deg({ cfg: 2, ulysses: 4 }), pipeline: { patches: 1, warmupSteps: 0 } };
    expect(pipelinePlacement(old)).toEqual({ textEncoders: 'leader', vaeDecode: { ranks: 8 } });
    expect(placementProblems(old)).toEqual([]);
    const dp = { degrees: deg({ dataParallel: 2, pipefusion: 2 }), pipeline: { patches: 2, warmupSteps: 1 } };
    expect(replicaRanks(dp.degrees)).toBe(2);
    expect(pipelinePlacement(dp).vaeDecode.ranks).toBe(2);
  });

  it('names the field when the placement is malformed', () => {
    const degrees = deg({ ulysses: 4 });
    const bad = (vaeRanks: number) =>
      placementProblems({
        degrees,
        pipeline: { patches: 1, warmupSteps: 0, vaeDecode: { ranks: vaeRanks } },
      });
    expect(bad(3)[0]).toMatch(/pipeline\.vaeDecode\.ranks must be a positive divisor of the 4 ranks/);
    expect(bad(0)).toHaveLength(1);
    expect(bad(2)).toEqual([]);
    const wrongPlace = JSON.parse('{"patches":1,"warmupSteps":0,"textEncoders":"every-rank"}');
    expect(placementProblems({ degrees, pipeline: wrongPlace })[0]).toMatch(/pipeline\.textEncoders/);
  });
});
