/**
 * The module specifiers a TypeScript or JavaScript file (or a .d.ts) refers to: static imports and
 * re-exports (`from '...'`, over several lines too), side-effect imports, dynamic `import('...')`,
 * `require('...')` and triple-slash references. A regex reading, not a parser: enough for code this
 * repository writes and tsc emits, which the import-rule tests check.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const PATTERNS = [
  /\bfrom\s*['"]([^'"]+)['"]/g,
  /^\s*import\s*['"]([^'"]+)['"]/gm,
  /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  /^\/\/\/\s*<reference\s+(?:types|path|lib)\s*=\s*['"]([^'"]+)['"]/gm,
];

export function importSpecifiers(text: string): string[] {
  const found = new Set<string>();
  for (const pattern of PATTERNS) for (const match of text.matchAll(pattern)) found.add(match[1]);
  return [...found];
}

export function importSpecifiersOfFile(file: string): string[] {
  return importSpecifiers(readFileSync(file, 'utf8'));
}

/** The files under `dir` (recursively) whose names end with one of `endings`, as full paths, sorted. */
export function filesUnder(dir: string, endings: readonly string[]): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && endings.some((end) => entry.name.endsWith(end))) {
      out.push(join(entry.parentPath, entry.name));
    }
  }
  return out.sort();
}

/** A bare specifier's package name: `zod`, `zod/v4` -> `zod`; `@scope/pkg/x` -> `@scope/pkg`. */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}
