import { describe, expect, it } from 'vitest';
import { OperatorMetrics } from '../../src/operator/metrics/operator-metrics.js';

function seriesOf(text: string, metric: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${metric}{`) || l.startsWith(`${metric} `));
}

describe('OperatorMetrics', () => {
  it('keeps per-object series only while the object exists', async () => {
    const m = new OperatorMetrics(
      () => 3,
      () => true,
    );
    m.recordGroups('ns1', 'flux', 2, 1);
    m.recordGroups('ns1', 'sd3', 1, 0);
    const before = await m.render();
    expect(seriesOf(before, 'tessera_groups_ready')).toEqual([
      'tessera_groups_ready{namespace="ns1",name="flux"} 2',
      'tessera_groups_ready{namespace="ns1",name="sd3"} 1',
    ]);
    expect(seriesOf(before, 'tessera_groups_restarting')).toContain(
      'tessera_groups_restarting{namespace="ns1",name="flux"} 1',
    );

    m.forgetObject('ns1', 'flux');
    const after = await m.render();
    expect(after).not.toContain('name="flux"');
    expect(seriesOf(after, 'tessera_groups_ready')).toEqual([
      'tessera_groups_ready{namespace="ns1",name="sd3"} 1',
    ]);
    // Forgetting an object that never had series is harmless.
    m.forgetObject('ns2', 'never-seen');
  });

  it('exports the queue, leadership, reconcile and process series', async () => {
    let leading = false;
    const m = new OperatorMetrics(
      () => 7,
      () => leading,
    );
    m.reconcileTotal.inc({ result: 'success' });
    m.reconcileDuration.observe(0.02);
    expect(seriesOf(await m.render(), 'tessera_leader')).toEqual(['tessera_leader 0']);
    leading = true;
    const text = await m.render();
    expect(seriesOf(text, 'tessera_leader')).toEqual(['tessera_leader 1']);
    expect(seriesOf(text, 'tessera_workqueue_depth')).toEqual(['tessera_workqueue_depth 7']);
    expect(seriesOf(text, 'tessera_reconcile_total')).toEqual([
      'tessera_reconcile_total{result="success"} 1',
    ]);
    expect(text).toContain('tessera_reconcile_duration_seconds_bucket{le="0.025"} 1');
    expect(text).toContain('tessera_reconcile_duration_seconds_count 1');
    for (const processSeries of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(seriesOf(text, processSeries).length, processSeries).toBeGreaterThan(0);
    }
  });
});
