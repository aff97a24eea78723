import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `check` until it returns something other than undefined; at the deadline throws with `what` and
 * the last value seen by `describe` (so a timeout says what state things were stuck in).
 */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  {
    timeoutMs = 60_000,
    intervalMs = 250,
    describe,
  }: { timeoutMs?: number; intervalMs?: number; describe?: () => Promise<string> } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) {
      const state = describe ? `; last state: ${await describe()}` : '';
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting until ${what}${state}`);
    }
    await sleep(intervalMs);
  }
}
