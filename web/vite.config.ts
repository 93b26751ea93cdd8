// The dashboard's bundle: `vite build --config web/vite.config.ts` (npm run build:web), run from the
// repository root, writes dist/web (index.html and hashed assets/), which src/api/dashboard.ts serves.
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'web',
  base: '/',
  // the page is served by the API; nothing of web/ is copied verbatim
  publicDir: false,
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    assetsDir: 'assets',
    // the strict CSP forbids inline code: no polyfill snippet, no inlined assets
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    target: 'es2022',
    reportCompressedSize: false,
  },
});
