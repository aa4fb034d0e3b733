import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // tfjs backends are process-global; one fork per file keeps them apart.
    pool: 'forks',
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
