import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // Forks, not threads: tests spawn and signal redis-server children, and a crashed fork takes its
    // children's exit hook with it instead of wedging a shared thread pool.
    pool: 'forks',
    // CI machines have 2 cores; more workers would only contend for them and for the one Redis.
    minWorkers: 1,
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    // The default reporter ends with the "Test Files / Tests / Duration" summary CI logs are read by.
    reporters: ['default'],
  },
});
