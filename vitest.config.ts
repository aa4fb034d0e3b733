import { defineConfig } from 'vitest/config';
import { tunedMallocEnv } from './src/backend/malloc-env.js';

// The test workers are forked from here, so they start with the allocator settings the CLI
// relaunches with (src/backend/malloc-env.ts).
const tuned = tunedMallocEnv(process.env);
if (tuned?.GLIBC_TUNABLES) process.env.GLIBC_TUNABLES = tuned.GLIBC_TUNABLES;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // tfjs backends are process-global; one fork per file keeps them apart.
    pool: 'forks',
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
