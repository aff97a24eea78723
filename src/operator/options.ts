import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Toleration } from '../shared/api/v1alpha1/index.js';
import type { KubeconfigSource } from './kube/kubeconfig.js';
import { DEFAULT_LEASE_TIMINGS, type LeaseTimings } from './leader/lease-elector.js';
import { DEFAULT_RATE_LIMITER, type RateLimiterOptions } from './queue/rate-limiter.js';

/** The operator's configuration, from flags. Every field has a default except where noted. */
export interface OperatorOptions {
  /** Kubeconfig file; absent: $KUBECONFIG, then in-cluster service account, then ~/.kube/config. */
  kubeconfig: string | undefined;
  /** Where `kubeconfig` came from, so an error can name it. */
  kubeconfigSource: KubeconfigSource;
  /** Image of pods whose `spec.runtime.image` is empty. */
  runtimeImage: string;
  /** Tolerations added to every pod (and considered when reading topology). */
  podTolerations: Toleration[];
  leaderElect: boolean;
  leaderElectionNamespace: string;
  leaderElectionId: string;
  identity: string;
  lease: LeaseTimings;
  httpHost: string;
  httpPort: number;
  concurrency: number;
  resyncPeriodMs: number;
  informerDeadAfterMs: number;
  watchTimeoutSeconds: number;
  /** A watch silent for this long past its own timeout counts as stalled and is restarted. */
  watchStallGraceMs: number;
  rateLimiter: RateLimiterOptions;
}

export const DEFAULT_RUNTIME_IMAGE = 'ghcr.io/tessera-dev/tessera-runtime:0.1.0';

export const OPERATOR_USAGE = `usage: tessera operator [options]

Runs the DiTInference controller.

options:
  --kubeconfig PATH                 kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)
  --runtime-image IMAGE             image for pods without spec.runtime.image (default ${DEFAULT_RUNTIME_IMAGE})
  --pod-toleration KEY[=VALUE]:EFFECT
                                    toleration added to every pod; repeatable
  --leader-elect=BOOL               campaign for a Lease before reconciling (default true)
  --leader-election-namespace NS    namespace of the Lease (default $POD_NAMESPACE or default)
  --leader-election-id NAME         name of the Lease (default tessera-operator)
  --lease-duration D, --renew-deadline D, --retry-period D
                                    leader election timings (default 15s, 10s, 2s)
  --http-address HOST:PORT          /healthz, /readyz, /metrics (default 0.0.0.0:8081; port 0 picks one)
  --concurrency N                   objects reconciled at once (default 4)
  --resync-period D                 reconcile every object at least this often (default 5m)
  --informer-dead-after D           /healthz fails after a watch heard nothing this long (default 3m)
  --watch-timeout D                 lifetime of one watch request (default 60s)
  --watch-stall-grace D             a watch silent this long past its timeout is restarted (default 30s)
  --max-backoff D                   longest per-object retry delay (default 5m)
  --qps N, --burst N                global retry rate limit (default 10, 100)
Durations: 500ms, 15s, 2m, 1h.`;

/** A flag value the operator cannot use; the message names the flag and the fix. */
export class OptionsError extends Error {
  override readonly name = 'OptionsError';
}

export function parseDuration(flag: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value);
  if (!m) throw new OptionsError(`${flag}: '${value}' is not a duration; write e.g. 500ms, 15s, 2m or 1h`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

function parseInteger(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new OptionsError(`${flag}: '${value}' must be an integer ≥ ${min}`);
  return n;
}

/** `KEY[=VALUE]:EFFECT`, as `kubectl taint` writes taints. */
export function parseToleration(value: string): Toleration {
  const m = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(value);
  if (!m) {
    throw new OptionsError(
      `--pod-toleration: '${value}' must look like KEY=VALUE:EFFECT or KEY:EFFECT with EFFECT NoSchedule, PreferNoSchedule or NoExecute`,
    );
  }
  const [, key, val, effect] = m;
  return val === undefined
    ? { key, operator: 'Exists', effect: effect as Toleration['effect'] }
    : { key, operator: 'Equal', value: val, effect: effect as Toleration['effect'] };
}

export function parseOperatorOptions(argv: readonly string[], env: NodeJS.ProcessEnv): OperatorOptions {
  const o: OperatorOptions = {
    // A KUBECONFIG list (a:b) is merged by client-node's default loading, not read as one file.
    kubeconfig: env.KUBECONFIG && !env.KUBECONFIG.includes(':') ? env.KUBECONFIG : undefined,
    kubeconfigSource: 'KUBECONFIG',
    runtimeImage: DEFAULT_RUNTIME_IMAGE,
    podTolerations: [],
    leaderElect: true,
    leaderElectionNamespace: env.POD_NAMESPACE || 'default',
    leaderElectionId: 'tessera-operator',
    identity: `${env.POD_NAME || hostname()}_${randomBytes(4).toString('hex')}`,
    lease: { ...DEFAULT_LEASE_TIMINGS },
    httpHost: '0.0.0.0',
    httpPort: 8081,
    concurrency: 4,
    resyncPeriodMs: 5 * 60_000,
    informerDeadAfterMs: 3 * 60_000,
    watchTimeoutSeconds: 60,
    watchStallGraceMs: 30_000,
    rateLimiter: { ...DEFAULT_RATE_LIMITER },
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf('=');
    const flag = eq > 0 && arg.startsWith('--') ? arg.slice(0, eq) : arg;
    const inline = eq > 0 && arg.startsWith('--') ? arg.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new OptionsError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--kubeconfig':
        o.kubeconfig = value();
        o.kubeconfigSource = '--kubeconfig';
        break;
      case '--runtime-image':
        o.runtimeImage = value();
        break;
      case '--pod-toleration':
        o.podTolerations.push(parseToleration(value()));
        break;
      case '--leader-elect': {
        const v = inline ?? 'true';
        if (v !== 'true' && v !== 'false')
          throw new OptionsError(`--leader-elect: '${v}' must be true or false`);
        o.leaderElect = v === 'true';
        break;
      }
      case '--leader-election-namespace':
        o.leaderElectionNamespace = value();
        break;
      case '--leader-election-id':
        o.leaderElectionId = value();
        break;
      case '--lease-duration':
        o.lease = { ...o.lease, leaseDurationMs: parseDuration(flag, value()) };
        break;
      case '--renew-deadline':
        o.lease = { ...o.lease, renewDeadlineMs: parseDuration(flag, value()) };
        break;
      case '--retry-period':
        o.lease = { ...o.lease, retryPeriodMs: parseDuration(flag, value()) };
        break;
      case '--http-address': {
        const v = value();
        const colon = v.lastIndexOf(':');
        if (colon < 0) throw new OptionsError(`--http-address: '${v}' must be HOST:PORT, e.g. 0.0.0.0:8081`);
        o.httpHost = v.slice(0, colon) || '0.0.0.0';
        o.httpPort = parseInteger(flag, v.slice(colon + 1), 0);
        break;
      }
      case '--concurrency':
        o.concurrency = parseInteger(flag, value(), 1);
        break;
      case '--resync-period':
        o.resyncPeriodMs = parseDuration(flag, value());
        break;
      case '--informer-dead-after':
        o.informerDeadAfterMs = parseDuration(flag, value());
        break;
      case '--watch-timeout':
        o.watchTimeoutSeconds = Math.max(1, Math.round(parseDuration(flag, value()) / 1000));
        break;
      case '--watch-stall-grace':
        o.watchStallGraceMs = parseDuration(flag, value());
        break;
      case '--max-backoff':
        o.rateLimiter = { ...o.rateLimiter, maxDelayMs: parseDuration(flag, value()) };
        break;
      case '--qps':
        o.rateLimiter = { ...o.rateLimiter, qps: parseInteger(flag, value(), 1) };
        break;
      case '--burst':
        o.rateLimiter = { ...o.rateLimiter, burst: parseInteger(flag, value(), 1) };
        break;
      default:
        throw new OptionsError(`unknown option '${arg}'\n\n${OPERATOR_USAGE}`);
    }
  }
  const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = o.lease;
  if (!(leaseDurationMs > renewDeadlineMs && renewDeadlineMs > retryPeriodMs)) {
    throw new OptionsError(
      `leader election needs --lease-duration > --renew-deadline > --retry-period (got ${leaseDurationMs} ms, ${renewDeadlineMs} ms, ${retryPeriodMs} ms)`,
    );
  }
  return o;
}
