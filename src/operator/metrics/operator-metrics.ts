import { Counter, Gauge, Histogram, Registry } from './registry.js';

/** The operator's series. Names follow controller-runtime's where one exists, so dashboards carry over. */
export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconcileTotal = this.registry.register(
    new Counter('tessera_reconcile_total', 'Reconciles by result (success, error).'),
  );
  readonly reconcileErrors = this.registry.register(
    new Counter('tessera_reconcile_errors_total', 'Reconciles that failed and were retried with back-off.'),
  );
  readonly reconcileDuration = this.registry.register(
    new Histogram(
      'tessera_reconcile_duration_seconds',
      'Time of one reconcile.',
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ),
  );
  readonly queueDepth: Gauge;
  readonly groupsReady = this.registry.register(
    new Gauge('tessera_groups_ready', 'Groups with all pods Ready.'),
  );
  readonly groupsRestarting = this.registry.register(
    new Gauge('tessera_groups_restarting', 'Groups being recreated after a failure.'),
  );
  readonly groupRecreations = this.registry.register(
    new Counter('tessera_group_recreations_total', 'Groups recreated by the RecreateGroup failure policy.'),
  );
  readonly isLeader: Gauge;

  constructor(queueDepth: () => number, isLeader: () => boolean) {
    this.queueDepth = this.registry.register(
      new Gauge('tessera_workqueue_depth', 'Keys waiting in the work queue.', queueDepth),
    );
    this.isLeader = this.registry.register(
      new Gauge('tessera_leader', '1 on the replica that holds the leader lease.', () =>
        isLeader() ? 1 : 0,
      ),
    );
  }
}
