import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { parseDuration, parseOperatorOptions, parseToleration } from '../../src/operator/options.js';
import { RateLimiter } from '../../src/operator/queue/rate-limiter.js';
import { WorkQueue } from '../../src/operator/queue/work-queue.js';

describe('RateLimiter', () => {
  it('backs off per key exponentially up to the cap, and forgets on success', () => {
    const r = new RateLimiter({ baseDelayMs: 5, maxDelayMs: 100, qps: 1000, burst: 1000 });
    expect([1, 2, 3, 4, 5, 6].map(() => r.when('a'))).toEqual([5, 10, 20, 40, 80, 100]);
    expect(r.when('b')).toBe(5);
    r.forget('a');
    expect(r.when('a')).toBe(5);
  });
  it('spaces retries once the global bucket is empty', () => {
    let t = 0;
    const r = new RateLimiter({ baseDelayMs: 1, maxDelayMs: 1, qps: 10, burst: 2 }, () => t);
    expect(r.when('a')).toBe(1);
    expect(r.when('b')).toBe(1);
    expect(r.when('c')).toBe(100);
    t = 1000;
    expect(r.when('d')).toBe(1);
  });
});

describe('WorkQueue', () => {
  it('coalesces adds of a waiting key and never runs one key twice at once', async () => {
    const q = new WorkQueue({ concurrency: 4 });
    const seen: string[] = [];
    let running = 0;
    let maxRunning = 0;
    q.add('a');
    q.add('a');
    q.add('b');
    q.start(async (key) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      seen.push(key);
      if (seen.length === 1) q.add('a'); // arrives while 'a' is processing → one more run afterwards
      await sleep(20);
      running--;
      return {};
    });
    await sleep(150);
    expect(seen.sort()).toEqual(['a', 'a', 'b']);
    expect(maxRunning).toBe(2);
    await q.stop();
  });
  it('retries a failing key with back-off and honours requeueAfter', async () => {
    const q = new WorkQueue({
      rateLimiter: new RateLimiter({ baseDelayMs: 10, maxDelayMs: 1000, qps: 100, burst: 100 }),
    });
    const times: number[] = [];
    const start = Date.now();
    q.start(async () => {
      times.push(Date.now() - start);
      if (times.length < 3) throw new Error('boom');
      if (times.length === 3) return { requeueAfterMs: 50 };
      return {};
    });
    q.add('k');
    await sleep(300);
    expect(times.length).toBe(4);
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
    expect(gaps[0]).toBeGreaterThanOrEqual(9);
    expect(gaps[1]).toBeGreaterThanOrEqual(19);
    expect(gaps[2]).toBeGreaterThanOrEqual(49);
    await q.stop();
  });
});

describe('operator options', () => {
  it('parses flags and durations', () => {
    const o = parseOperatorOptions(
      [
        '--kubeconfig',
        '/k',
        '--pod-toleration',
        'kwok.x-k8s.io/node=fake:NoSchedule',
        '--lease-duration=6s',
        '--renew-deadline=4s',
        '--retry-period=1s',
        '--http-address',
        '127.0.0.1:0',
      ],
      {},
    );
    expect(o).toMatchObject({
      kubeconfig: '/k',
      podTolerations: [{ key: 'kwok.x-k8s.io/node', operator: 'Equal', value: 'fake', effect: 'NoSchedule' }],
      lease: { leaseDurationMs: 6000, renewDeadlineMs: 4000, retryPeriodMs: 1000 },
      httpHost: '127.0.0.1',
      httpPort: 0,
    });
    expect(parseDuration('--x', '500ms')).toBe(500);
    expect(parseToleration('gpu:NoExecute')).toEqual({ key: 'gpu', operator: 'Exists', effect: 'NoExecute' });
  });
  it('names the flag and the fix for bad values', () => {
    expect(() => parseOperatorOptions(['--resync-period', '5 minutes'], {})).toThrow(
      /--resync-period: .*write e.g. 500ms/,
    );
    expect(() => parseOperatorOptions(['--lease-duration=5s'], {})).toThrow(
      /--lease-duration > --renew-deadline/,
    );
    expect(() => parseOperatorOptions(['--pod-toleration', 'x'], {})).toThrow(/KEY=VALUE:EFFECT/);
    expect(() => parseOperatorOptions(['--frobnicate'], {})).toThrow(/unknown option '--frobnicate'/);
  });
});
