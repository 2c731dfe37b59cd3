import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The SDK used by the tests themselves warns on Node 20; keep test output clean.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    // Starts MinIO (building it once with Go on first run) unless S3_TEST_ENDPOINT is set.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    // Generous: hooks may wait for slow transfers or a first-time MinIO build.
    hookTimeout: 300_000,
    pool: 'forks',
    // The CLI under test spawns its own processes and MinIO needs CPU too; keep this small.
    maxWorkers: 2,
  },
});
