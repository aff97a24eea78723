import type {
  V1ConfigMap,
  V1Container,
  V1Node,
  V1Pod,
  V1Service,
  V1StatefulSet,
} from '@kubernetes/client-node';
import {
  CONDITION_TYPES,
  type DiTInference,
  LABELS,
  OPERATOR_MANAGER,
} from '../../shared/api/v1alpha1/index.js';
import type { Logger } from '../../shared/log.js';
import { EventRecorder } from '../events/recorder.js';
import { Informer, type InformerHealth, type InformerOptions } from '../informers/informer.js';
import type { KubeClient } from '../kube/client.js';
import { type KubeObject, objectKey } from '../kube/objects.js';
import { RESOURCES, type ResourceType } from '../kube/resources.js';
import { OperatorMetrics } from '../metrics/operator-metrics.js';
import { podGpus } from '../pools/capacity.js';
import { RateLimiter, type RateLimiterOptions } from '../queue/rate-limiter.js';
import { WorkQueue } from '../queue/work-queue.js';
import { GFD_LABELS, GPU_RESOURCE } from '../topology/resolve.js';
import type { Caches } from './children.js';
import { Reconciler, type ReconcilerOptions } from './reconciler.js';

export interface ControllerOptions extends ReconcilerOptions {
  readonly concurrency: number;
  /** Every object is reconciled at least this often, whatever the events say. */
  readonly resyncPeriodMs: number;
  readonly rateLimiter: RateLimiterOptions;
  /** Informer tuning (watch lifetime, relist period, stall grace), mostly for tests. */
  readonly informer?: Pick<InformerOptions, 'watchTimeoutSeconds' | 'relistIntervalMs' | 'stallGraceMs'>;
}

/**
 * Wires informers to the work queue and the queue to the reconciler. Informers run on every replica
 * (a standby has warm caches when it takes over); workers run only after `startWorkers`, which the
 * operator calls once it leads.
 */
export class Controller {
  readonly caches: Caches;
  readonly queue: WorkQueue;
  readonly metrics: OperatorMetrics;
  private readonly reconciler: Reconciler;
  private readonly informers: Informer<KubeObject>[];
  private readonly nodeFingerprints = new Map<string, string>();
  private resyncTimer: NodeJS.Timeout | undefined;
  private leading = false;

  constructor(
    client: KubeClient,
    private readonly log: Logger,
    private readonly options: ControllerOptions,
  ) {
    const managed = `${LABELS.managedBy}=${OPERATOR_MANAGER}`;
    const make = <T extends KubeObject>(resource: ResourceType, labelSelector?: string) =>
      new Informer<T>({
        client,
        resource,
        log,
        ...(labelSelector ? { labelSelector } : {}),
        ...options.informer,
      });
    this.caches = {
      inferences: make<DiTInference>(RESOURCES.ditInference),
      statefulSets: make<V1StatefulSet>(RESOURCES.statefulSet, managed),
      pods: make<V1Pod>(RESOURCES.pod, managed),
      configMaps: make<V1ConfigMap>(RESOURCES.configMap, managed),
      services: make<V1Service>(RESOURCES.service, managed),
      nodes: make<V1Node>(RESOURCES.node),
      boundPods: new Informer<V1Pod>({
        client,
        resource: RESOURCES.pod,
        name: 'pods (bound, any owner)',
        log,
        fieldSelector: BOUND_POD_SELECTOR,
        transform: trimBoundPod,
        ...options.informer,
      }),
    };
    this.informers = Object.values(this.caches) as Informer<KubeObject>[];

    this.queue = new WorkQueue({
      concurrency: options.concurrency,
      rateLimiter: new RateLimiter(options.rateLimiter),
      onError: (key, err, retries) => {
        this.metrics.reconcileErrors.inc();
        log.warn({ key, err, retries }, 'Reconcile failed; retrying with back-off');
      },
      onProcessed: (key, ms, ok) => {
        log.debug({ key, ms: Math.round(ms * 100) / 100, ok }, 'Reconciled');
        this.metrics.reconcileTotal.inc({ result: ok ? 'success' : 'error' });
        this.metrics.reconcileDuration.observe(ms / 1000);
      },
    });
    this.metrics = new OperatorMetrics(
      () => this.queue.depth,
      () => this.leading,
    );
    this.reconciler = new Reconciler({
      client,
      caches: this.caches,
      recorder: new EventRecorder(client, OPERATOR_MANAGER, log),
      metrics: this.metrics,
      log: log.child({ component: 'reconciler' }),
      options,
    });
    this.wireEvents();
  }

  /** Starts the informers and waits until each has listed once. */
  async start(): Promise<void> {
    for (const i of this.informers) i.start();
    await Promise.all(this.informers.map((i) => i.waitForSync()));
    this.log.info('Caches synced');
  }

  /** Starts reconciling (on the leader): every known object once, then events and periodic resyncs. */
  startWorkers(): void {
    this.leading = true;
    this.queue.start((key) => this.reconciler.reconcile(key));
    this.enqueueAll();
    this.resyncTimer = setInterval(() => this.enqueueAll(), this.options.resyncPeriodMs);
    this.resyncTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    await this.queue.stop();
    await Promise.all(this.informers.map((i) => i.stop()));
  }

  informerHealth(): InformerHealth[] {
    return this.informers.map((i) => i.health());
  }

  get synced(): boolean {
    return this.informers.every((i) => i.health().synced);
  }

  private enqueueAll(): void {
    for (const inf of this.caches.inferences.list()) this.queue.add(objectKey(inf));
  }

  private wireEvents(): void {
    this.caches.inferences.onChange((_type, obj) => this.queue.add(objectKey(obj)));
    // A child's change wakes its owner, found by the name label every child carries.
    const toOwner = (_type: string, obj: KubeObject) => {
      const owner = obj.metadata?.labels?.[LABELS.name];
      const ns = obj.metadata?.namespace;
      if (owner && ns) this.queue.add(`${ns}/${owner}`);
    };
    this.caches.statefulSets.onChange(toOwner);
    this.caches.pods.onChange(toOwner);
    this.caches.configMaps.onChange(toOwner);
    this.caches.services.onChange(toOwner);
    // GPUs freed or taken by any pod change what fits: objects waiting for capacity look again.
    this.caches.boundPods.onChange((type, pod) => {
      if (type === 'updated' || podGpus(pod) === 0) return;
      for (const inf of this.caches.inferences.list()) {
        const capacity = inf.status?.conditions?.find((c) => c.type === CONDITION_TYPES.capacityAvailable);
        if (capacity?.status === 'False') this.queue.add(objectKey(inf));
      }
    });
    // Nodes change often (heartbeats, conditions); only what topology reads wakes every object.
    this.caches.nodes.onChange((type, node) => {
      const key = objectKey(node);
      const fingerprint = type === 'deleted' ? '' : nodeFingerprint(node);
      if (this.nodeFingerprints.get(key) === fingerprint) return;
      if (fingerprint) this.nodeFingerprints.set(key, fingerprint);
      else this.nodeFingerprints.delete(key);
      this.enqueueAll();
    });
  }
}

/** Pods that hold resources on a node: bound to one and not finished. */
const BOUND_POD_SELECTOR = 'spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed';

/** What free-GPU accounting reads of a pod of any owner; the rest is not cached. */
function trimBoundPod(pod: V1Pod): V1Pod {
  const resources = (c: V1Container): V1Container => ({ name: c.name, resources: c.resources ?? {} });
  return {
    metadata: {
      name: pod.metadata?.name,
      namespace: pod.metadata?.namespace,
      uid: pod.metadata?.uid,
      resourceVersion: pod.metadata?.resourceVersion,
    },
    spec: {
      nodeName: pod.spec?.nodeName,
      containers: (pod.spec?.containers ?? []).map(resources),
      ...(pod.spec?.initContainers ? { initContainers: pod.spec.initContainers.map(resources) } : {}),
    },
  };
}

/** The parts of a Node that topology resolution reads. */
function nodeFingerprint(node: V1Node): string {
  const labels = node.metadata?.labels ?? {};
  return JSON.stringify([
    node.status?.allocatable?.[GPU_RESOURCE],
    labels,
    node.spec?.taints ?? [],
    node.spec?.unschedulable ?? false,
    node.status?.conditions?.find((c) => c.type === 'Ready')?.status,
    labels[GFD_LABELS.product],
  ]);
}
