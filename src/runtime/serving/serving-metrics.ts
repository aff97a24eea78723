/**
 * The leader's metrics. Queue depth plus in-flight requests is the load signal autoscalers act on
 * (docs/serving.md): only group leaders serve, so a leader's numbers are its whole group's.
 */
import { Counter, Gauge, Histogram, Registry } from './prometheus.js';

/** Seconds; spans a few-step schnell run on one GPU through a 50-step run queued behind others. */
const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300, 600];

export interface LiveState {
  queued(): number;
  inFlight(): number;
  queueCapacity(): number;
  ready(): boolean;
}

export class ServingMetrics {
  readonly registry = new Registry();
  /** Generation requests by HTTP status (499: the client went away first). */
  readonly requests = this.registry.add(
    new Counter('tessera_serving_requests_total', 'Generation requests answered, by HTTP status code.'),
  );
  readonly queueSeconds = this.registry.add(
    new Histogram(
      'tessera_serving_queue_seconds',
      'Time requests waited before their batch started.',
      LATENCY_BUCKETS,
    ),
  );
  readonly runSeconds = this.registry.add(
    new Histogram(
      'tessera_serving_run_seconds',
      'Executor time per batch (the whole group).',
      LATENCY_BUCKETS,
    ),
  );
  readonly batchSamples: Histogram;
  readonly executorFailures = this.registry.add(
    new Counter(
      'tessera_serving_executor_failures_total',
      'Executor runs that failed, by kind (fatal or batch).',
    ),
  );

  constructor(maxBatch: number, state: LiveState) {
    const bounds = Array.from({ length: maxBatch }, (_, i) => i + 1);
    this.batchSamples = this.registry.add(
      new Histogram(
        'tessera_serving_batch_samples',
        'Samples per executor run (sum of request batch sizes).',
        bounds,
      ),
    );
    this.registry.add(
      new Gauge('tessera_serving_queue_depth', 'Requests waiting for the executor.', state.queued),
    );
    this.registry.add(
      new Gauge(
        'tessera_serving_in_flight',
        'Requests in the batch the executor is running.',
        state.inFlight,
      ),
    );
    this.registry.add(
      new Gauge(
        'tessera_serving_queue_capacity',
        'Requests the leader queues before answering 429.',
        state.queueCapacity,
      ),
    );
    this.registry.add(
      new Gauge(
        'tessera_serving_max_batch',
        'Samples one executor run takes (the plan maxBatch).',
        () => maxBatch,
      ),
    );
    this.registry.add(
      new Gauge('tessera_serving_ready', '1 while the leader takes requests, else 0.', () =>
        state.ready() ? 1 : 0,
      ),
    );
  }
}
