import { OPERATOR_MANAGER } from '../shared/api/v1alpha1/index.js';
import type { Logger } from '../shared/log.js';
import { Controller } from './controller/controller.js';
import { KubeClient } from './kube/client.js';
import { loadKubeConfig } from './kube/kubeconfig.js';
import { LeaseElector } from './leader/lease-elector.js';
import type { OperatorOptions } from './options.js';
import { HealthServer } from './server/health-server.js';

/**
 * One operator process: informers (always), the health/metrics server (always), and the workers
 * (only while it holds the leader Lease). Losing the lease ends the process — a replica that might
 * still be reconciling must not overlap with the new leader; its Deployment restarts it as a standby.
 */
export class Operator {
  private client: KubeClient | undefined;
  private controller: Controller | undefined;
  private elector: LeaseElector | undefined;
  private server: HealthServer | undefined;
  private lostLeadership: (() => void) | undefined;

  constructor(
    private readonly options: OperatorOptions,
    private readonly log: Logger,
  ) {}

  /** Starts everything; resolves when the health server listens (with its port). */
  async start(): Promise<number> {
    const kc = loadKubeConfig(this.options.kubeconfig, this.options.kubeconfigSource);
    this.client = await KubeClient.create(kc);
    const controller = new Controller(this.client, this.log, {
      defaultImage: this.options.runtimeImage,
      defaultTolerations: this.options.podTolerations,
      fieldManager: OPERATOR_MANAGER,
      concurrency: this.options.concurrency,
      resyncPeriodMs: this.options.resyncPeriodMs,
      rateLimiter: this.options.rateLimiter,
      informer: {
        watchTimeoutSeconds: this.options.watchTimeoutSeconds,
        stallGraceMs: this.options.watchStallGraceMs,
      },
    });
    this.controller = controller;
    this.server = new HealthServer(
      {
        informerHealth: () => controller.informerHealth(),
        get synced() {
          return controller.synced;
        },
        metricsText: () => controller.metrics.render(),
      },
      {
        host: this.options.httpHost,
        port: this.options.httpPort,
        informerDeadAfterMs: this.options.informerDeadAfterMs,
      },
    );
    const port = await this.server.listen();
    this.log.info({ port, identity: this.options.identity }, 'Serving /healthz, /readyz and /metrics');
    await controller.start();

    if (!this.options.leaderElect) {
      controller.startWorkers();
      return port;
    }
    this.elector = new LeaseElector({
      client: this.client,
      namespace: this.options.leaderElectionNamespace,
      name: this.options.leaderElectionId,
      identity: this.options.identity,
      timings: this.options.lease,
      log: this.log.child({ component: 'leader-election' }),
      fieldManager: OPERATOR_MANAGER,
    });
    this.elector.run({
      acquired: () => controller.startWorkers(),
      lost: () => this.lostLeadership?.(),
    });
    return port;
  }

  /** Resolves when the process should exit because leadership was lost. */
  whenLeadershipLost(): Promise<void> {
    return new Promise((resolve) => {
      this.lostLeadership = resolve;
    });
  }

  async stop(): Promise<void> {
    await this.controller?.stop();
    await this.elector?.stop();
    await this.server?.close();
    this.client?.close();
  }
}
