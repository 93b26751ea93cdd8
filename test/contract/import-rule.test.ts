/**
 * The import rule (docs/development.md, Layout): src/contract imports nothing else of src/; src/client
 * imports only itself and src/contract; the dashboard (web/) reaches src/ only through src/client (and
 * the pure seeded problem draw of src/problem).
 * So the client package (packages/client) can be built from src/client and src/contract alone, and no
 * server code ends up in it or in the dashboard's bundle.
 */
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { filesUnder, importSpecifiersOfFile, packageName } from '../helpers/import-specifiers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Every import of the .ts files under `dir`: [file, specifier, resolved path or package name]. */
function importsUnder(dir: string): { file: string; specifier: string; target: string }[] {
  return filesUnder(resolve(root, dir), ['.ts']).flatMap((file) =>
    importSpecifiersOfFile(file).map((specifier) => ({
      file: relative(root, file),
      specifier,
      target: specifier.startsWith('.')
        ? relative(root, resolve(dirname(file), specifier))
        : `package:${packageName(specifier)}`,
    })),
  );
}

const outside = (imports: ReturnType<typeof importsUnder>, allowed: (target: string) => boolean) =>
  imports.filter(({ target }) => !allowed(target)).map(({ file, specifier }) => `${file}: ${specifier}`);

describe('the import rule', () => {
  it('src/contract imports only src/contract, zod and (the job writer) fast-json-stringify', () => {
    const imports = importsUnder('src/contract');
    expect(imports.length).toBeGreaterThan(10);
    const allowed = (target: string) =>
      target.startsWith('src/contract/') || ['package:zod', 'package:fast-json-stringify'].includes(target);
    expect(outside(imports, allowed)).toEqual([]);
    // only the writer of the job's JSON needs fast-json-stringify
    expect(
      imports.filter(({ target }) => target === 'package:fast-json-stringify').map(({ file }) => file),
    ).toEqual(['src/contract/serializer.ts']);
  });

  it('src/client imports only src/client, src/contract, zod (types) and standardwebhooks', () => {
    const imports = importsUnder('src/client');
    expect(imports.some(({ target }) => target.startsWith('src/contract/'))).toBe(true);
    const allowed = (target: string) =>
      target.startsWith('src/client/') ||
      target.startsWith('src/contract/') ||
      ['package:zod', 'package:standardwebhooks'].includes(target);
    expect(outside(imports, allowed)).toEqual([]);
    // not the job writer: the client package has no fast-json-stringify
    expect(imports.filter(({ target }) => /src\/contract\/(serializer|job-json)/.test(target))).toEqual([]);
  });

  it('the dashboard (web/src) reaches src/ only through src/client/browser (and the pure problem draw)', () => {
    const imports = importsUnder('web/src').filter(({ target }) => target.startsWith('src/'));
    expect(imports.some(({ target }) => target === 'src/client/browser.js')).toBe(true);
    // `levinv generate` in the page: the seeded draw, which imports nothing but itself
    const draw = ['src/problem/draw.js', 'src/problem/random.js'];
    expect(outside(imports, (target) => target === 'src/client/browser.js' || draw.includes(target))).toEqual(
      [],
    );
    const drawImports = [...importsUnder('src/problem')].filter(({ file }) =>
      draw.includes(file.replace(/\.ts$/, '.js')),
    );
    expect(outside(drawImports, (target) => draw.includes(target))).toEqual([]);
  });

  it('reads the specifiers it checks (the regex finds multi-line, dynamic and type imports)', async () => {
    const { importSpecifiers } = await import('../helpers/import-specifiers.js');
    const text = [
      "import type {\n  A,\n  B,\n} from '../api/schemas.js';",
      "export * from './x.js';",
      "import './side.js';",
      "const m = await import('node:fs');",
      '/// <reference types="node" />',
      "const r = require('bullmq');",
    ].join('\n');
    expect(importSpecifiers(text).sort()).toEqual(
      ['../api/schemas.js', './side.js', './x.js', 'bullmq', 'node', 'node:fs'].sort(),
    );
  });
});
