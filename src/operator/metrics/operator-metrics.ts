import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Labels of the series that belong to one DiTInference; they are removed when the object is. */
type ObjectLabels = 'namespace' | 'name';

/**
 * The operator's series, on a registry of its own (two operators in one test process do not share
 * one). Names follow controller-runtime's where one exists, so dashboards carry over. Process series
 * (CPU, memory, handles, event-loop lag) come from prom-client's default collectors.
 */
export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconcileTotal = new Counter({
    name: 'tessera_reconcile_total',
    help: 'Reconciles by result (success, error).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: 'tessera_reconcile_errors_total',
    help: 'Reconciles that failed and were retried with back-off.',
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'tessera_reconcile_duration_seconds',
    help: 'Time of one reconcile.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly groupsReady = new Gauge<ObjectLabels>({
    name: 'tessera_groups_ready',
    help: 'Groups with all pods Ready.',
    labelNames: ['namespace', 'name'] as const,
    registers: [this.registry],
  });
  readonly groupsRestarting = new Gauge<ObjectLabels>({
    name: 'tessera_groups_restarting',
    help: 'Groups being recreated after a failure.',
    labelNames: ['namespace', 'name'] as const,
    registers: [this.registry],
  });
  readonly groupRecreations = new Counter({
    name: 'tessera_group_recreations_total',
    help: 'Groups recreated by the RecreateGroup failure policy.',
    registers: [this.registry],
  });

  constructor(queueDepth: () => number, isLeader: () => boolean) {
    new Gauge({
      name: 'tessera_workqueue_depth',
      help: 'Keys waiting in the work queue.',
      registers: [this.registry],
      collect() {
        this.set(queueDepth());
      },
    });
    new Gauge({
      name: 'tessera_leader',
      help: '1 on the replica that holds the leader lease.',
      registers: [this.registry],
      collect() {
        this.set(isLeader() ? 1 : 0);
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  /** Sets the per-object series of one DiTInference. */
  recordGroups(namespace: string, name: string, ready: number, restarting: number): void {
    this.groupsReady.set({ namespace, name }, ready);
    this.groupsRestarting.set({ namespace, name }, restarting);
  }

  /** Drops every series of a DiTInference that no longer exists, so dashboards do not show ghosts. */
  forgetObject(namespace: string, name: string): void {
    this.groupsReady.remove({ namespace, name });
    this.groupsRestarting.remove({ namespace, name });
  }

  /** The Prometheus text exposition of every series. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
