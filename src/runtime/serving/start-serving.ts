/**
 * What a worker process calls to serve, so the launcher's wiring stays a few lines. Exactly one process
 * per pod binds TESSERA_SERVING_PORT: on the group's pod 0 the rank-0 process (the leader, with
 * generation routes), on the other pods their launcher (probes only, from its ranks' IPC status).
 */
import type { Logger } from '../../shared/log.js';
import type { Plan } from '../../shared/plan/index.js';
import type { GenerationExecutor } from './executor.js';
import type { ImageService } from './image-service.js';
import { LeaderServer } from './leader-server.js';
import { type CheckpointDims, type LimitOverrides, servingLimitsFromPlan } from './limits.js';
import { ProbeServer } from './probe-server.js';
import { readServingConfig } from './serving-config.js';
import { shutdownOnSigterm } from './shutdown-signal.js';

export interface LeaderServingOptions {
  env: NodeJS.ProcessEnv;
  plan: Plan;
  /** From the checkpoint's transformer config (in_channels, joint_attention_dim, pooled_projection_dim). */
  dims: CheckpointDims;
  executor: GenerationExecutor;
  /** Prompts to PNGs (`POST /v1/images/generations`); absent: latents only. */
  images?: ImageService;
  logger: Logger;
  overrides?: LimitOverrides;
  /** Defaults to every interface (the pod IP), as the kubelet's probes and the Service need. */
  host?: string;
  /** Overrides TESSERA_SERVING_PORT (tests bind port 0). */
  port?: number;
  /** Called once SIGTERM's drain has finished; omitted: no SIGTERM handler is installed. */
  onDrained?: () => void;
}

/**
 * Listens at once (so `/healthz` answers 503 while weights load); call `markStarted()` after warm-up
 * and `reportFatal()` from a watchdog. The server runs in a thread of its own (leader-server.ts says
 * why); the executor runs on the caller's thread.
 */
export async function startLeaderServing(options: LeaderServingOptions): Promise<LeaderServer> {
  const config = readServingConfig(options.env);
  const logger = options.logger.child({ component: 'serving' });
  const { pid: _pid, hostname: _hostname, ...logBindings } = logger.bindings();
  const server = await LeaderServer.start(
    {
      limits: servingLimitsFromPlan(options.plan, options.dims, options.overrides),
      maxBatch: options.executor.maxBatch,
      queueSize: config.queueSize,
      authToken: config.authToken,
      port: options.port ?? config.port,
      host: options.host ?? '0.0.0.0',
      logBindings,
      logLevel: logger.level,
      ...(options.images ? { images: { model: options.images.model } } : {}),
    },
    options.executor,
    logger,
    options.images,
  );
  logger.info(
    {
      port: server.address()?.port,
      queueSize: config.queueSize,
      auth: config.authToken !== undefined,
      thread: 'serving',
      images: options.images !== undefined,
    },
    'serving on the group leader',
  );
  if (options.onDrained) shutdownOnSigterm(server, logger, options.onDrained);
  return server;
}

export interface WorkerProbeOptions {
  env: NodeJS.ProcessEnv;
  logger: Logger;
  host?: string;
  port?: number;
  onDrained?: () => void;
}

/** The probes on a pod other than the leader's; same lifecycle calls as the leader's server. */
export async function startWorkerProbes(options: WorkerProbeOptions): Promise<ProbeServer> {
  const config = readServingConfig(options.env);
  const logger = options.logger.child({ component: 'probes' });
  const probes = new ProbeServer(logger);
  const address = await probes.listen(options.port ?? config.port, options.host ?? '0.0.0.0');
  logger.info({ port: address.port }, 'answering probes');
  if (options.onDrained) shutdownOnSigterm(probes, logger, options.onDrained);
  return probes;
}
