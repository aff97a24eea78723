/**
 * The leader's metrics. Queue depth plus in-flight requests is the load signal autoscalers act on
 * (docs/serving.md): only group leaders serve, so a leader's numbers are its whole group's.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds; spans a few-step schnell run on one GPU through a 50-step run queued behind others. */
const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300, 600];

export interface LiveState {
  queued(): number;
  inFlight(): number;
  queueCapacity(): number;
  ready(): boolean;
}

/** A gauge read at scrape time, so it can never drift from the state it reports. */
function liveGauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/**
 * On a registry of its own: several servers in one test process must not share series. Process series
 * (CPU, memory, heap, event-loop lag) come from prom-client's default collectors.
 */
export class ServingMetrics {
  readonly registry = new Registry();
  /** Generation requests by HTTP status (499: the client went away first). */
  readonly requests = new Counter({
    name: 'tessera_serving_requests_total',
    help: 'Generation requests answered, by HTTP status code.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly queueSeconds = new Histogram({
    name: 'tessera_serving_queue_seconds',
    help: 'Time requests waited before their batch started.',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly runSeconds = new Histogram({
    name: 'tessera_serving_run_seconds',
    help: 'Executor time per batch (the whole group).',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly batchSamples: Histogram;
  readonly executorFailures = new Counter({
    name: 'tessera_serving_executor_failures_total',
    help: 'Executor runs that failed, by kind (fatal or batch), and non-finite results (non_finite).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  constructor(maxBatch: number, state: LiveState) {
    this.batchSamples = new Histogram({
      name: 'tessera_serving_batch_samples',
      help: 'Samples per executor run (sum of request batch sizes).',
      buckets: Array.from({ length: maxBatch }, (_, i) => i + 1),
      registers: [this.registry],
    });
    liveGauge(
      this.registry,
      'tessera_serving_queue_depth',
      'Requests waiting for the executor.',
      state.queued,
    );
    liveGauge(
      this.registry,
      'tessera_serving_in_flight',
      'Requests in the batch the executor is running.',
      state.inFlight,
    );
    liveGauge(
      this.registry,
      'tessera_serving_queue_capacity',
      'Requests the leader queues before answering 429.',
      state.queueCapacity,
    );
    liveGauge(
      this.registry,
      'tessera_serving_max_batch',
      'Samples one executor run takes (the plan maxBatch).',
      () => maxBatch,
    );
    liveGauge(this.registry, 'tessera_serving_ready', '1 while the leader takes requests, else 0.', () =>
      state.ready() ? 1 : 0,
    );
    collectDefaultMetrics({ register: this.registry });
  }

  /** The Prometheus text exposition of every series. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
