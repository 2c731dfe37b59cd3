import { defineConfig } from 'vitest/config';

// `npm run soak`: the kill soak (minutes), not part of `npm test`.
export default defineConfig({
  test: {
    include: ['test/soak/**/*.soak.ts'],
    globalSetup: ['test/global-setup.ts'],
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    testTimeout: 900_000,
    hookTimeout: 300_000,
    pool: 'forks',
  },
});
