/**
 * How long a key waits before its next retry: the larger of a per-key exponential back-off and a
 * global token bucket, as client-go's default controller rate limiter does. The per-key part keeps one
 * broken object from spinning; the bucket keeps many broken objects from flooding the API server.
 */
export interface RateLimiterOptions {
  /** First retry delay of a key; doubles on each further failure. */
  readonly baseDelayMs: number;
  /** Longest per-key delay. */
  readonly maxDelayMs: number;
  /** Sustained retries per second across all keys. */
  readonly qps: number;
  /** Retries allowed at once before the bucket starts spacing them. */
  readonly burst: number;
}

export const DEFAULT_RATE_LIMITER: RateLimiterOptions = {
  baseDelayMs: 5,
  maxDelayMs: 5 * 60_000,
  qps: 10,
  burst: 100,
};

export class RateLimiter {
  private readonly failures = new Map<string, number>();
  private tokens: number;
  private lastRefill: number;

  constructor(
    private readonly opts: RateLimiterOptions = DEFAULT_RATE_LIMITER,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = opts.burst;
    this.lastRefill = now();
  }

  /** Records one more failure of `key` and returns how long to wait before retrying it. */
  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const perKey = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** Math.min(n, 40));
    return Math.max(perKey, this.bucketDelay());
  }

  /** Failures recorded for `key` since its last success. */
  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Clears the back-off of `key` after a success. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Takes one token; when none is left, the wait until one will be (tokens may go negative: a queue). */
  private bucketDelay(): number {
    const t = this.now();
    this.tokens = Math.min(this.opts.burst, this.tokens + ((t - this.lastRefill) / 1000) * this.opts.qps);
    this.lastRefill = t;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.opts.qps) * 1000;
  }
}
