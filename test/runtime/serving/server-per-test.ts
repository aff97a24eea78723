/**
 * A test file's server slot, shut down after each test. Kept out of harness.ts, which child processes
 * (sigterm-child.ts) import outside vitest.
 */
import { afterEach } from 'vitest';
import type { Started } from './harness.js';

export function serverPerTest(): { current: Started | undefined } {
  const slot: { current: Started | undefined } = { current: undefined };
  afterEach(async () => {
    await slot.current?.close();
    slot.current = undefined;
  });
  return slot;
}
