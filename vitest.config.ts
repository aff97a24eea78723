import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // Control-plane and multi-process suites start real processes; keep files from competing on 2 cores.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 600_000,
    reporters: ['default'],
    // The workers' own JSON log lines go to .cache/test-logs/vitest.log (TESSERA_TEST_LOGS=1: stdout).
    globalSetup: ['test/support/test-logs.ts'],
    setupFiles: ['test/support/test-logs-setup.ts'],
  },
});
