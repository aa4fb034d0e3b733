import { defineConfig } from 'vitest/config';

// The browser test (test/browser/*.browser.ts): a Jupyter server, chromium and a tslab kernel;
// `npm run test:browser`, run by CI after the unit tests. One file at a time.
export default defineConfig({
  test: {
    include: ['test/browser/**/*.browser.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
