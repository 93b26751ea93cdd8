import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = fileURLToPath(new URL('./src', import.meta.url));

export default defineConfig({
  resolve: {
    // #levinv/... (bench/ and the test launchers) is the build in dist/ when node runs them; the tests run
    // them on the sources, like every other import of the product.
    alias: [{ find: /^#levinv\/(.*)\.js$/, replacement: `${src}/$1.ts` }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Numerical recovery tests run many solves; the default 5 s is too tight on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
