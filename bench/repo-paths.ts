/** Where the benchmarks find the repository's other parts, from the sources (vitest) and from dist-bench/. */
import { fileURLToPath } from 'node:url';

/** One level above bench/*.ts (the tests import the sources), two above dist-bench/bench/*.js (node runs those). */
export const REPO_ROOT = new URL(import.meta.url.endsWith('.ts') ? '../' : '../../', import.meta.url);

/** The product's build (npm run build), which the benchmarks measure and whose entry points they start. */
export const PRODUCT_DIST = new URL('dist/', REPO_ROOT);

/** dist/main/: the API and worker entry points, for benchmarks that run them as processes. */
export const DIST_MAIN = fileURLToPath(new URL('main/', PRODUCT_DIST));

/** scripts/: the numpy reference implementations. */
export const SCRIPTS = fileURLToPath(new URL('scripts/', REPO_ROOT));
