/**
 * The probe endpoints on worker pods (pod index > 0). Every pod of a group shares one pod template and
 * so one set of probes; workers have no generation routes, only their startup and readiness.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../shared/log.js';
import { HealthState } from './health-state.js';
import { sendJson } from './http-io.js';
import { closeServer, listenOn } from './listen.js';
import { answerProbe, isProbePath } from './probe-routes.js';

export class ProbeServer {
  readonly health = new HealthState();
  private readonly server: Server;

  constructor(private readonly logger: Logger) {
    this.server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://probe').pathname;
      if (req.method === 'GET' && isProbePath(path)) answerProbe(path, this.health, res);
      else if (isProbePath(path))
        sendJson(res, 405, { error: { code: 'method_not_allowed', message: 'use GET' } }, { allow: 'GET' });
      else {
        sendJson(res, 404, {
          error: {
            code: 'not_found',
            message: `${path}: this pod is a worker; send requests to the group leader`,
          },
        });
      }
    });
  }

  listen(port: number, host = '0.0.0.0'): Promise<AddressInfo> {
    return listenOn(this.server, port, host);
  }

  /** Where it listens; null before listen() and after shutdown. */
  address(): AddressInfo | null {
    const address = this.server.address();
    return typeof address === 'object' ? address : null;
  }

  /** Joined the group and loaded this rank's weights. */
  markStarted(): void {
    this.health.markStarted();
    this.logger.info('started: probes report ready');
  }

  /** This rank can no longer take part (peer lost, communicator failed). */
  reportFatal(reason: string): void {
    this.health.markFatal(reason);
    this.logger.error({ reason }, 'fatal: readiness now fails');
  }

  async shutdown(): Promise<void> {
    this.health.markDraining();
    await closeServer(this.server);
  }
}
