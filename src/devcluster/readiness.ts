import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { ControlPlaneStartError } from './errors.js';
import type { SupervisedProcess } from './process.js';

/** TLS material for probing an https endpoint; `ca` undefined = accept a self-signed serving cert. */
export interface ProbeTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

export interface ProbeResult {
  readonly status: number;
  readonly body: string;
}

/** One GET with a short timeout; rejects on connection errors (the caller retries). */
export function probe(url: string, tls?: ProbeTls, timeoutMs = 2_000): Promise<ProbeResult> {
  return new Promise((resolveProbe, reject) => {
    const isHttps = url.startsWith('https:');
    const options = isHttps
      ? { ...tls, rejectUnauthorized: tls?.ca !== undefined, timeout: timeoutMs }
      : { timeout: timeoutMs };
    const req = (isHttps ? httpsRequest : httpRequest)(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolveProbe({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Polls `url` until it answers 200, the process exits, or `timeoutMs` passes. Every failure throws a
 * ControlPlaneStartError naming the component and step with the tail of its log.
 */
export async function waitForHealthy(
  proc: SupervisedProcess,
  url: string,
  { timeoutMs, tls, step }: { timeoutMs: number; tls?: ProbeTls; step?: string },
): Promise<void> {
  const stepName = step ?? `waiting for ${new URL(url).pathname} to answer 200`;
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    const exit = proc.exit;
    if (exit) {
      const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
      throw new ControlPlaneStartError(
        proc.component,
        stepName,
        `the process exited (${how})`,
        proc.logTail(),
      );
    }
    try {
      const res = await probe(url, tls);
      if (res.status === 200) return;
      last = `HTTP ${res.status}: ${res.body.slice(0, 500)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await Promise.race([sleep(200), proc.exited]);
  }
  throw new ControlPlaneStartError(
    proc.component,
    stepName,
    `not ready after ${timeoutMs / 1000} s (last probe: ${last})`,
    proc.logTail(),
  );
}

/** Polls `check` until it returns a value other than undefined, or throws `onTimeout()` at the deadline. */
export async function pollUntil<T>(
  check: () => Promise<T | undefined>,
  {
    timeoutMs,
    intervalMs = 250,
    onTimeout,
  }: { timeoutMs: number; intervalMs?: number; onTimeout: () => Error },
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw onTimeout();
    await sleep(intervalMs);
  }
}
