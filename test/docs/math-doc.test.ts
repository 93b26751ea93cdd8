/**
 * The code cites docs/MATH.md by section name (`docs/MATH.md, "<section>"`). These tests fail when a
 * citation names a heading the document no longer has, or when code mentions a MATH.md elsewhere, so
 * that renaming a section or moving the document cannot leave stale pointers behind.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOC = join(ROOT, 'docs', 'MATH.md');

/** The .ts files under `dir`, recursively. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The document's headings (any level), outside fenced code blocks. */
function headings(markdown: string): Set<string> {
  const found = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const match = fenced ? null : /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (match) found.add(match[1]);
  }
  return found;
}

/**
 * Every `docs/MATH.md, "<section>"` in `text`. A citation may break after the comma onto the next comment
 * line (` * "...`); the section name itself may span a line break, which is joined back with one space.
 */
function citations(text: string): string[] {
  const out: string[] = [];
  for (const match of text.matchAll(/docs\/MATH\.md,\s*(?:(?:\/\/|\*)\s*)?"([^"]+)"/g)) {
    out.push(match[1].replace(/\s*\n\s*(?:\/\/|\*)?\s*/g, ' '));
  }
  return out;
}

describe('docs/MATH.md citations', () => {
  const sections = headings(readFileSync(DOC, 'utf8'));
  const files = sources(join(ROOT, 'src')).map((path) => ({
    file: relative(ROOT, path),
    text: readFileSync(path, 'utf8'),
  }));

  it('parses headings and citations as the tests below read them', () => {
    expect(headings('# A\n## B c\n```\n# not one\n```\n### D ##\n')).toEqual(new Set(['A', 'B c', 'D']));
    expect(
      citations('x (docs/MATH.md, "One") y docs/MATH.md,\n * "Two words" z (docs/MATH.md, "Three\n * four")'),
    ).toEqual(['One', 'Two words', 'Three four']);
  });

  it('every section cited in src is a heading of docs/MATH.md', () => {
    const cited = files.flatMap(({ file, text }) => citations(text).map((section) => ({ file, section })));
    // the global start's modules and the solver's core cite it: if none are found, the pattern is wrong
    expect(cited.length).toBeGreaterThanOrEqual(10);
    expect(cited.map((c) => c.section)).toContain('The global start');
    const missing = cited.filter(({ section }) => !sections.has(section));
    expect(missing).toEqual([]);
  });

  it('src mentions MATH.md only as docs/MATH.md', () => {
    const stray = files.flatMap(({ file, text }) =>
      text
        .split('\n')
        .map((line, i) => ({ file, line: i + 1, text: line.trim() }))
        .filter(({ text: line }) => /MATH\.md/.test(line.replace(/docs\/MATH\.md/g, ''))),
    );
    expect(stray).toEqual([]);
  });
});
