/**
 * The group leader's HTTP server: probes, metrics, `POST /v1/denoise` and — when the model folder is a
 * whole pipeline — `POST /v1/images/generations` in front of the executor.
 * Probes and metrics are open (kubelet and Prometheus do not carry tokens); generation routes need the
 * bearer token when one is configured.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../shared/log.js';
import { BatchScheduler } from './batch-scheduler.js';
import { bearerChecker } from './bearer-auth.js';
import { DENOISE_PATH, DenoiseRoute } from './denoise-route.js';
import type { GenerationExecutor } from './executor.js';
import { HealthState } from './health-state.js';
import { sendError } from './http-io.js';
import type { ImageService } from './image-service.js';
import { IMAGES_PATH, ImagesRoute } from './images-route.js';
import type { ServingLimits } from './limits.js';
import { closeServer, listenOn } from './listen.js';
import { answerProbe, isProbePath } from './probe-routes.js';
import { RequestError } from './request-error.js';
import { requestIdFrom } from './request-id.js';
import { ServingMetrics } from './serving-metrics.js';

export interface GenerationServerOptions {
  executor: GenerationExecutor;
  limits: ServingLimits;
  /** TESSERA_SERVING_QUEUE_SIZE: requests waiting while a batch runs; more get 429. */
  queueSize: number;
  /** TESSERA_SERVING_AUTH_TOKEN; undefined: no authentication. */
  authToken: string | undefined;
  logger: Logger;
  /** Prompts to PNGs; absent: the images route answers 404 saying why. */
  images?: ImageService;
}

const METRICS_PATH = '/metrics';

function numericHeader(res: ServerResponse, name: string): number | undefined {
  const value = res.getHeader(name);
  return value === undefined ? undefined : Number(value);
}

function parseUrl(target: string | undefined): URL | null {
  try {
    return new URL(target ?? '/', 'http://leader');
  } catch {
    return null;
  }
}

/** Time a refused upload may keep sending after the answer, so the client reads it before the reset. */
const LINGER_MS = 1_000;

function hasUnreadBody(req: IncomingMessage): boolean {
  if (req.complete) return false;
  const declared = Number(req.headers['content-length'] ?? 0);
  return declared > 0 || req.headers['transfer-encoding'] !== undefined;
}

function withConnectionClose(error: RequestError): RequestError {
  if (error.headers.connection === 'close') return error;
  return new RequestError(error.status, error.code, error.message, {
    ...(error.field !== undefined ? { field: error.field } : {}),
    ...(error.fix !== undefined ? { fix: error.fix } : {}),
    headers: { ...error.headers, connection: 'close' },
    cause: error.cause,
  });
}

/**
 * Ends the connection once the answer is out: our side closes at once (FIN), and the socket is torn
 * down after LINGER_MS at the latest, so an unread upload costs at most that much reading.
 */
function closeAfterAnswer(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket;
  const close = () => {
    socket.end();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
  if (res.writableFinished) close();
  else res.once('finish', close);
}

function methodNotAllowed(allow: string): RequestError {
  return new RequestError(405, 'method_not_allowed', `use ${allow}`, { headers: { allow } });
}

export class GenerationServer {
  readonly health = new HealthState();
  readonly metrics: ServingMetrics;
  private readonly scheduler: BatchScheduler;
  private readonly denoise: DenoiseRoute;
  private readonly images: ImagesRoute | null;
  private readonly authorized: (header: string | undefined) => boolean;
  private readonly server: Server;
  private readonly logger: Logger;

  constructor(options: GenerationServerOptions) {
    this.logger = options.logger;
    const maxBatch = Math.min(options.executor.maxBatch, options.limits.maxBatch);
    const limits = { ...options.limits, maxBatch };
    // The gauges read the scheduler at scrape time, after it exists.
    this.metrics = new ServingMetrics(maxBatch, {
      queued: () => this.scheduler.queued,
      inFlight: () => this.scheduler.inFlight,
      queueCapacity: () => this.scheduler.capacity,
      ready: () => this.health.readiness().ready,
    });
    this.scheduler = new BatchScheduler(options.executor, {
      queueSize: options.queueSize,
      logger: this.logger,
      metrics: this.metrics,
      onFatal: (reason, cause) => this.reportFatal(reason, cause),
    });
    this.denoise = new DenoiseRoute(limits, this.scheduler);
    this.images = options.images ? new ImagesRoute(limits, this.scheduler, options.images) : null;
    this.authorized = bearerChecker(options.authToken);
    this.server = createServer((req, res) => {
      void this.route(req, res, false);
    });
    // A client that sends `Expect: 100-continue` waits for our word before uploading: the checks that
    // need only the headers (route, token, readiness, media type, declared size) answer it instead.
    this.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      void this.route(req, res, true);
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

  /** Weights loaded, group joined, warm-up done: startup and readiness probes turn 200. */
  markStarted(): void {
    this.health.markStarted();
    this.logger.info('started: taking requests');
  }

  /**
   * The group cannot run any more (a dead peer, a communicator timeout), found by the executor or by a
   * watchdog between runs. Readiness fails from now on; queued requests get 503.
   */
  reportFatal(reason: string, cause?: unknown): void {
    if (this.health.fatal) return;
    this.health.markFatal(reason);
    this.logger.error({ reason, err: cause }, 'fatal: readiness now fails, refusing requests');
    void this.scheduler.close(
      new RequestError(503, 'group_failed', `the group can no longer run: ${reason}`, {
        fix: 'retry; the group is being restarted',
      }),
    );
  }

  /**
   * SIGTERM: readiness fails at once (the endpoint leaves the Service), queued requests get 503, the
   * running batch finishes and is answered, then the listener closes.
   */
  async shutdown(): Promise<void> {
    this.health.markDraining();
    this.logger.info({ queued: this.scheduler.queued, inFlight: this.scheduler.inFlight }, 'draining');
    await this.scheduler.close(
      new RequestError(503, 'shutting_down', 'the server is shutting down', {
        fix: 'retry; another group takes the request',
        headers: { 'retry-after': '1' },
      }),
    );
    await closeServer(this.server);
    this.logger.info('closed');
  }

  private async route(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): Promise<void> {
    const started = performance.now();
    const id = requestIdFrom(req.headers['x-request-id']);
    const logger = this.logger.child({ requestId: id });
    res.setHeader('x-request-id', id);
    const url = parseUrl(req.url);
    const path = url?.pathname ?? req.url ?? '';
    let errorCode: string | undefined;
    res.once('close', () => {
      const status = res.writableFinished ? res.statusCode : 499;
      if (path === DENOISE_PATH || path === IMAGES_PATH) this.metrics.requests.inc({ code: String(status) });
      const line = {
        method: req.method,
        path,
        status,
        error: errorCode,
        ms: Math.round(performance.now() - started),
        // Set by a completed generation (response-encoding.ts); absent otherwise.
        queueMs: numericHeader(res, 'x-tessera-queue-ms'),
        runMs: numericHeader(res, 'x-tessera-run-ms'),
      };
      if (isProbePath(path) || path === METRICS_PATH) logger.debug(line, 'access');
      else logger.info(line, 'access');
    });
    try {
      if (!url) throw new RequestError(400, 'invalid_url', `cannot parse the request target ${req.url}`);
      await this.dispatch(id, url, req, res, logger, expectsContinue);
    } catch (err) {
      const error =
        err instanceof RequestError
          ? err
          : new RequestError(500, 'internal_error', `the server failed: ${(err as Error).message}`, {
              cause: err,
            });
      errorCode = error.code;
      // Executor failures are logged once by the scheduler; only the unexpected is logged here.
      if (!(err instanceof RequestError)) logger.error({ err }, 'request failed');
      // Refused before its body was read (or only partly read): answer, then close instead of reading
      // the rest of an upload nobody will use (Node would otherwise drain it to keep the connection).
      const unread = hasUnreadBody(req);
      if (!res.headersSent && !res.destroyed) {
        sendError(res, unread ? withConnectionClose(error) : error);
      }
      if (unread || error.headers.connection === 'close') closeAfterAnswer(req, res);
    }
  }

  private async dispatch(
    id: string,
    url: URL,
    req: IncomingMessage,
    res: ServerResponse,
    logger: Logger,
    expectsContinue: boolean,
  ): Promise<void> {
    const path = url.pathname;
    if (isProbePath(path) || path === METRICS_PATH) {
      if (req.method !== 'GET') throw methodNotAllowed('GET');
      if (path === METRICS_PATH) {
        const text = await this.metrics.render();
        res.writeHead(200, { 'content-type': this.metrics.contentType });
        res.end(text);
      } else answerProbe(path, this.health, res);
      return;
    }
    if (path !== DENOISE_PATH && path !== IMAGES_PATH) {
      const routes = this.images ? `${DENOISE_PATH} or ${IMAGES_PATH}` : DENOISE_PATH;
      throw new RequestError(404, 'not_found', `no route ${path}`, { fix: `POST ${routes}` });
    }
    if (path === IMAGES_PATH && !this.images) {
      throw new RequestError(
        404,
        'no_pipeline',
        'this group serves latents only: its model folder has no text encoders and VAE',
        {
          fix: `POST ${DENOISE_PATH} with embeddings and latents, or mount a whole Diffusers pipeline (model_index.json, tokenizers, text encoders, vae)`,
        },
      );
    }
    if (req.method !== 'POST') throw methodNotAllowed('POST');
    if (!this.authorized(req.headers.authorization)) {
      throw new RequestError(401, 'unauthorized', 'missing or wrong bearer token', {
        field: 'authorization',
        fix: 'send Authorization: Bearer <the token from the serving auth Secret>',
        headers: { 'www-authenticate': 'Bearer' },
      });
    }
    const readiness = this.health.readiness();
    if (!readiness.ready) {
      throw new RequestError(503, 'not_ready', readiness.reason, {
        fix: 'retry later or on another group',
        headers: { 'retry-after': '5' },
      });
    }
    if (path === IMAGES_PATH && this.images) await this.images.handle(id, req, res, logger, expectsContinue);
    else await this.denoise.handle(id, url, req, res, logger, expectsContinue);
  }
}
