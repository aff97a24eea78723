import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InformerHealth } from '../informers/informer.js';

export interface HealthSource {
  informerHealth(): InformerHealth[];
  readonly synced: boolean;
  /** Prometheus text exposition (format 0.0.4). */
  metricsText(): Promise<string>;
}

export interface HealthServerOptions {
  readonly host: string;
  readonly port: number;
  /** /healthz fails when an informer has not heard from the API server for this long. */
  readonly informerDeadAfterMs: number;
}

/**
 * `/healthz` (liveness: every informer heard from the API server recently — a dead watch that its own
 * restarts cannot revive makes the kubelet restart the process), `/readyz` (caches synced, leader or
 * warm standby) and `/metrics` (Prometheus text).
 */
export class HealthServer {
  private readonly server: http.Server;

  constructor(
    private readonly source: HealthSource,
    private readonly opts: HealthServerOptions,
  ) {
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      const now = Date.now();
      const dead = this.source
        .informerHealth()
        .filter((h) => now - h.lastContactAt > this.opts.informerDeadAfterMs)
        .map(
          (h) =>
            `${h.resource}: no contact with the API server for ${Math.round((now - h.lastContactAt) / 1000)} s`,
        );
      this.reply(res, dead.length === 0 ? 200 : 503, dead.length === 0 ? 'ok\n' : `${dead.join('\n')}\n`);
    } else if (path === '/readyz') {
      const notSynced = this.source
        .informerHealth()
        .filter((h) => !h.synced)
        .map((h) => `${h.resource}: not synced`);
      this.reply(
        res,
        notSynced.length === 0 ? 200 : 503,
        notSynced.length === 0 ? 'ok\n' : `${notSynced.join('\n')}\n`,
      );
    } else if (path === '/metrics') {
      this.source.metricsText().then(
        (text) => this.reply(res, 200, text, 'text/plain; version=0.0.4; charset=utf-8'),
        (err: unknown) => this.reply(res, 500, `collecting metrics failed: ${String(err)}\n`),
      );
    } else {
      this.reply(res, 404, 'not found\n');
    }
  }

  private reply(res: http.ServerResponse, code: number, body: string, type = 'text/plain'): void {
    res.writeHead(code, { 'content-type': type });
    res.end(body);
  }
}
