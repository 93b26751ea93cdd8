/**
 * The documents against the code: every relative link and #anchor in README.md, CHANGELOG.md and docs/
 * leads somewhere, every `npm run` script and `node dist/...` command they give exists, the configuration
 * table in docs/operations.md lists exactly the variables src/main/config.ts reads with their defaults, and
 * the README keeps its two quickstart commands (.ci/run runs the second).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configSchema, DEFAULT_REDIS_URL, loadConfig } from '../../src/main/config.js';
import {
  DEFAULT_WEBHOOK_BACKOFF_MS,
  DEFAULT_WEBHOOK_CONCURRENCY,
  DEFAULT_WEBHOOK_CONCURRENCY_PER_KEY,
  DEFAULT_WEBHOOK_TIMEOUT_MS,
} from '../../src/webhooks/delivery-worker.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOCS = [
  'README.md',
  'CHANGELOG.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

/** The text outside fenced code blocks (links and headings there are examples, not the document's). */
function prose(markdown: string): string {
  let fenced = false;
  return markdown
    .split('\n')
    .filter((line) => {
      if (line.startsWith('```')) fenced = !fenced;
      return !fenced && !line.startsWith('```');
    })
    .join('\n');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchors(markdown: string): Set<string> {
  const found = new Set<string>();
  for (const line of prose(markdown).split('\n')) {
    const match = /^#{1,6}\s+(.+?)\s*$/.exec(line);
    if (match) found.add(slug(match[1]));
  }
  return found;
}

/** Every markdown link target that is not a URL: [text](target). */
function localLinks(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1])
    .filter((target) => !/^[a-z]+:/i.test(target));
}

/** A shell command's text: fenced blocks and inline code spans. */
function codeText(markdown: string): string {
  const spans = [...markdown.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]);
  const blocks = [...markdown.matchAll(/^```[a-z]*\n([\s\S]*?)^```/gm)].map((m) => m[1]);
  return [...spans, ...blocks].join('\n');
}

describe('the documents', () => {
  it('finds anchors as GitHub makes them', () => {
    expect(slug('Binary uploads (.npy)')).toBe('binary-uploads-npy');
    expect(slug('Phase II: Newton to the centre')).toBe('phase-ii-newton-to-the-centre');
    expect(slug('Prefer: wait')).toBe('prefer-wait');
  });

  it.each(DOCS)('%s: every relative link leads to a file, and every #anchor to a heading', (doc) => {
    const broken: string[] = [];
    for (const target of localLinks(read(doc))) {
      const [path, anchor] = target.split('#');
      const file = path === '' ? join(ROOT, doc) : resolve(dirname(join(ROOT, doc)), path);
      if (!existsSync(file)) {
        broken.push(`${target}: no file ${relative(ROOT, file)}`);
        continue;
      }
      if (anchor !== undefined && !anchors(readFileSync(file, 'utf8')).has(anchor)) {
        broken.push(`${target}: no heading with anchor #${anchor} in ${relative(ROOT, file)}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it.each(DOCS)('%s: every npm script and dist/ entry it names exists', (doc) => {
    const scripts = Object.keys(JSON.parse(read('package.json')).scripts);
    const code = codeText(read(doc));
    const named = [...code.matchAll(/npm run ([a-z][a-z:-]*)/g)].map((m) => m[1]);
    expect(named.filter((name) => !scripts.includes(name))).toEqual([]);
    // the entry points' build and the benchmarks' (tsconfig.bench.json), each named by its source
    const sources: Record<string, string> = { 'dist/main': 'src/main', 'dist-bench/bench': 'bench' };
    const entries = [...code.matchAll(/(dist\/main|dist-bench\/bench)\/([a-z-]+)\.js/g)].map((m) => [
      sources[m[1]],
      m[2],
    ]);
    const missing = entries.filter(([dir, name]) => !existsSync(join(ROOT, dir, `${name}.ts`)));
    expect(missing).toEqual([]);
  });
});

describe('docs/operations.md, Configuration', () => {
  const rows = new Map<string, string>();
  for (const line of read('docs/operations.md').split('\n')) {
    const match = /^\| `([A-Z][A-Z0-9_]*)` \| ([^|]*) \|/.exec(line);
    if (match) rows.set(match[1], match[2].replaceAll('`', '').trim());
  }
  const variables = Object.keys(configSchema.shape);
  const defaults = loadConfig({});
  // defaults that live in the code that reads the variable, not in the schema
  const codeDefaults: Record<string, string> = {
    REDIS_URL: DEFAULT_REDIS_URL,
    WEBHOOK_TIMEOUT_MS: String(DEFAULT_WEBHOOK_TIMEOUT_MS),
    WEBHOOK_BACKOFF_MS: String(DEFAULT_WEBHOOK_BACKOFF_MS),
    WEBHOOK_CONCURRENCY: String(DEFAULT_WEBHOOK_CONCURRENCY),
    WEBHOOK_CONCURRENCY_PER_KEY: String(DEFAULT_WEBHOOK_CONCURRENCY_PER_KEY),
  };
  // derived from the machine or the process: described in words
  const described = new Set(['SOLVER_THREADS', 'OTEL_SERVICE_NAME']);

  it('has one row per variable the entry points read, and no other', () => {
    expect(variables.length).toBeGreaterThan(40);
    expect([...rows.keys()].sort()).toEqual([...variables].sort());
  });

  it.each(variables)("%s: the default the table gives is the code's", (name) => {
    const cell = rows.get(name) ?? '';
    if (described.has(name)) return expect(cell).not.toBe('');
    const value = (defaults as Record<string, unknown>)[name];
    const expected = value !== undefined ? String(value) : (codeDefaults[name] ?? 'unset');
    expect(cell.split(/[\s(]/)[0].replace(/:$/, '')).toBe(expected);
  });
});

describe('README.md', () => {
  const readme = read('README.md');

  it('keeps the two quickstart commands', () => {
    const quickstart = /## Quickstart\n\n```sh\n([\s\S]*?)```/.exec(readme);
    expect(quickstart?.[1]).toBe('npm ci && npm start\nnpm test\n');
  });

  it("stays a newcomer's page: at most 250 lines", () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(250);
  });
});
