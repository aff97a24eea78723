/**
 * Where the JSON log lines of the vitest workers themselves go (the tests' in-process code: kernel choice,
 * loaded components): to .cache/test-logs/vitest.log, so the CI log shows the tests, not info lines.
 * Warnings and errors still reach stderr. TESSERA_TEST_LOGS=1 keeps them on stdout. Processes the tests
 * start (ranks, CLI commands) are untouched: they log where their own entry point says, and tests read
 * those logs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const testLogFile = join(resolve(import.meta.dirname, '../../.cache/test-logs'), 'vitest.log');
export const keepTestLogsOnStdout = () => process.env.TESSERA_TEST_LOGS === '1';
/** Set by the outermost run, so that a vitest a test starts (kernel-choices) appends instead. */
const STARTED = 'TESSERA_TEST_LOG_STARTED';

/** vitest globalSetup: one log per run. */
export default function startTestLog(): void {
  if (keepTestLogsOnStdout() || process.env[STARTED]) return;
  process.env[STARTED] = '1';
  mkdirSync(join(testLogFile, '..'), { recursive: true });
  writeFileSync(testLogFile, '');
}
