import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Numerical recovery tests run many solves; the default 5 s is too tight on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
