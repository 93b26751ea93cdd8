/**
 * `import('levinv/client')` resolves through package.json `exports` (a self-reference from the package root,
 * as an installed package would be imported), next to the deep import the README documents. Runs dist/: the
 * test suite builds first (npm test's pretest).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

const script = `
const client = await import('levinv/client');
const solver = await import('levinv/dist/solver/index.js');
const pkg = (await import('levinv/package.json', { with: { type: 'json' } })).default;
const c = new client.LevinvClient({ baseUrl: 'http://127.0.0.1:1' });
console.log(JSON.stringify({
  exports: Object.keys(client).sort(),
  client: typeof c.solve,
  solve: typeof solver.solve,
  name: pkg.name,
  bin: pkg.bin,
  error: new client.LevinvError(404, { title: 'Not Found', detail: 'gone' }).status,
}));
`;

describe('the levinv/client package export', () => {
  it('resolves from the package root, beside levinv/dist/* and levinv/package.json', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
    });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(out).toMatchObject({
      client: 'function',
      solve: 'function',
      name: 'levinv',
      bin: { levinv: 'dist/main/cli.js' },
      error: 404,
    });
    expect(out.exports).toEqual(
      expect.arrayContaining([
        'LevinvClient',
        'LevinvError',
        'LevinvNetworkError',
        'verifyWebhook',
        'ROUTES',
        'routePath',
        'parseNpy',
        'npyBytes',
      ]),
    );
  });
});

/** The modules `entry` imports, transitively, as [file, specifier] pairs for bare or node: specifiers. */
function externalImports(entry: string): [string, string][] {
  const seen = new Set<string>();
  const external: [string, string][] = [];
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(
      /^\s*(?:import|export)\b[^'"]*?from\s*'([^']+)'|^\s*import\s*'([^']+)'/gm,
    )) {
      const specifier = match[1] ?? match[2];
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier));
      else external.push([file.slice(root.length), specifier]);
    }
  };
  visit(entry);
  return external;
}

describe('the client core runs in browsers', () => {
  it('imports nothing from Node (node:*) or any package; only verifyWebhook needs standardwebhooks', () => {
    expect(externalImports(resolve(root, 'dist/client/client.js'))).toEqual([]);
    // what the dashboard bundles
    expect(externalImports(resolve(root, 'dist/client/browser.js'))).toEqual([]);
    expect(externalImports(resolve(root, 'dist/client/index.js'))).toEqual([
      ['dist/client/webhook.js', 'standardwebhooks'],
    ]);
  });

  it('the browser entry is levinv/client but for webhook verification', async () => {
    const index = Object.keys(await import('../../src/client/index.js')).sort();
    const browser = Object.keys(await import('../../src/client/browser.js')).sort();
    expect(index.filter((name) => !browser.includes(name))).toEqual(['LevinvWebhookError', 'verifyWebhook']);
    expect(browser.filter((name) => !index.includes(name))).toEqual([]);
    expect(browser).toEqual(expect.arrayContaining(['LevinvClient', 'LevinvError', 'routePath', 'parseNpy']));
  });
});
