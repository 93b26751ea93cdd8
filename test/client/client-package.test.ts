/**
 * packages/client, the installable client (`levinv-client`): what `npm pack` would put in the tarball, and
 * that its built code needs nothing but itself and its declared dependencies, so that installing it
 * outside this repository works and brings no server code. Reads packages/client/dist: the test suite
 * builds first (npm test's pretest; the root build builds the package too).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { filesUnder, importSpecifiersOfFile, packageName } from '../helpers/import-specifiers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = resolve(root, 'packages/client');
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
const pkg = readJson(resolve(dir, 'package.json'));
const rootPkg = readJson(resolve(root, 'package.json'));

describe('the levinv-client package', () => {
  it('is named, versioned and licensed as the repository', () => {
    expect(pkg.name).toBe('levinv-client');
    expect(pkg.version).toBe(rootPkg.version);
    expect(pkg.license).toBe('MIT');
    expect(pkg.type).toBe('module');
    expect(readFileSync(resolve(dir, 'LICENSE'), 'utf8')).toBe(
      readFileSync(resolve(root, 'LICENSE'), 'utf8'),
    );
    expect(rootPkg.workspaces).toEqual(['packages/client']);
    // the same ranges as the service's: one copy of each in the repository's node_modules
    for (const [name, range] of Object.entries(pkg.dependencies)) {
      expect(rootPkg.dependencies[name], name).toBe(range);
    }
  });

  it('packs only dist (JS and declarations), package.json, README.md and LICENSE', async () => {
    const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: dir,
    });
    const files: string[] = JSON.parse(stdout)[0].files.map((file: { path: string }) => file.path);
    const extra = files.filter(
      (file) =>
        !['package.json', 'README.md', 'LICENSE'].includes(file) &&
        !/^dist\/(client|contract)\/[\w-]+\.(js|d\.ts)$/.test(file),
    );
    expect(extra).toEqual([]);
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'LICENSE',
        'dist/client/index.js',
        'dist/client/index.d.ts',
        'dist/client/browser.js',
        'dist/client/browser.d.ts',
        'dist/contract/job.d.ts',
      ]),
    );
    // the job's JSON writer is the server's: not in the client
    expect(files.filter((file) => /serializer|job-json/.test(file))).toEqual([]);
    // every exported entry is in the tarball
    for (const [entry, target] of Object.entries(pkg.exports as Record<string, unknown>)) {
      const paths = typeof target === 'string' ? [target] : Object.values(target as Record<string, string>);
      for (const path of paths) expect(files, `${entry}: ${path}`).toContain(path.replace(/^\.\//, ''));
    }
  });

  it('its dist imports only its own files and its declared dependencies (all of them used)', () => {
    const dist = resolve(dir, 'dist');
    const built = filesUnder(dist, ['.js', '.d.ts']);
    expect(built.length).toBeGreaterThan(10);
    const declared = Object.keys(pkg.dependencies).sort();
    expect(declared).toEqual(['standardwebhooks', 'zod']);
    const bad: string[] = [];
    const used = new Set<string>();
    for (const file of built) {
      for (const specifier of importSpecifiersOfFile(file)) {
        const where = `${relative(dir, file)}: ${specifier}`;
        if (specifier.startsWith('./') || specifier.startsWith('../')) {
          const target = resolve(dirname(file), specifier);
          const types = target.replace(/\.js$/, '.d.ts');
          if (relative(dist, target).startsWith('..') || !(existsSync(target) || existsSync(types))) {
            bad.push(where);
          }
        } else if (declared.includes(packageName(specifier))) {
          used.add(packageName(specifier));
        } else {
          bad.push(where);
        }
      }
    }
    expect(bad).toEqual([]);
    expect([...used].sort()).toEqual(declared);
  });

  it('its entries load: `.` with webhook verification, `./browser` without', async () => {
    const index = await import(resolve(dir, 'dist/client/index.js'));
    const browser = await import(resolve(dir, 'dist/client/browser.js'));
    expect(typeof index.LevinvClient).toBe('function');
    expect(typeof index.verifyWebhook).toBe('function');
    expect(typeof browser.LevinvClient).toBe('function');
    expect(browser.verifyWebhook).toBeUndefined();
    expect(pkg.exports['.'].default).toBe('./dist/client/index.js');
    expect(pkg.exports['./browser'].default).toBe('./dist/client/browser.js');
  });
});
