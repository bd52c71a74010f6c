import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default', ['json', { outputFile: 'test-artifacts/vitest.json' }]],
    // fabric-contract-api logs every decorator at info level; keep test output readable.
    env: { CORE_CHAINCODE_LOGGING_LEVEL: 'WARNING' },
  },
});
