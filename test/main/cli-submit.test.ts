/** `levinv submit` against a running app (real Redis and worker). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/jobs/types.js';
import { EXIT_DATA, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE, runCli } from '../../src/main/cli.js';
import { freePort } from '../../src/main/local-redis.js';
import { type Harness, slowBody, startHarness, vectorBody } from '../api/harness.js';
import { loadVector, relErr } from '../helpers/testdata.js';

let h: Harness;
let url: string;
let dir: string;
beforeAll(async () => {
  h = await startHarness('cli-submit', { workers: 1 });
  url = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  dir = mkdtempSync(join(tmpdir(), 'levinv-submit-'));
});
afterAll(async () => {
  await h?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

async function run(argv: string[], options: { stdin?: string; tty?: boolean } = {}) {
  const stdout = collect();
  const stderr = collect();
  const code = await runCli(argv, {
    stdin: Readable.from(options.stdin === undefined ? [] : [options.stdin]),
    stdout: stdout.stream,
    stderr: stderr.stream,
    stderrIsTTY: options.tty ?? false,
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

function file(name: string, doc: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(doc));
  return path;
}

describe('levinv submit', () => {
  it('sends .npy files (generate --format npy) as a binary upload, with --json for the rest', async () => {
    const npyDir = join(dir, 'npy');
    expect(
      (await run(['generate', '--n', '300', '--d', '6', '--seed', '9', '--format', 'npy', '--out', npyDir]))
        .code,
    ).toBe(EXIT_OK);
    const rest = file('rest.json', { method: 'gauss-newton' });
    const { code, stdout, stderr } = await run(['submit', npyDir, '--json', rest, '--url', url, '--wait']);
    expect({ code, stderr }).toEqual({ code: EXIT_OK, stderr: '' });
    const job = JSON.parse(stdout) as JobView;
    expect(job).toMatchObject({ state: 'succeeded', n: 300, d: 6, method: 'gauss-newton' });
    expect(job.result!.relError).toBeLessThan(1e-8);
    // single files too; a bad one is the service's 400, one line, exit 65
    const files = ['A', 'b', 'sigma'].map((name) => join(npyDir, `${name}.npy`));
    const again = await run(['submit', ...files, '--url', url]);
    expect(again.code).toBe(EXIT_OK);
    expect((JSON.parse(again.stdout) as JobView).n).toBe(300);
    const bad = await run(['submit', join(npyDir, 'A.npy'), join(npyDir, 'b.npy'), '--url', url]);
    expect(bad.code).toBe(EXIT_DATA);
    expect(bad.stderr).toMatch(/sigma: required/);
    const misplaced = await run(['submit', file('p.json', vectorBody('tiny')), '--json', rest, '--url', url]);
    expect(misplaced.code).toBe(EXIT_USAGE);
  });

  it('prints the queued job', async () => {
    const { code, stdout, stderr } = await run([
      'submit',
      file('tiny.json', vectorBody('tiny')),
      '--url',
      url,
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(EXIT_OK);
    const job = JSON.parse(stdout) as JobView;
    expect(job).toMatchObject({ n: 6, d: 2, done: false });
    expect(job.id).toEqual(expect.any(String));
  });

  it('--wait follows the job to its result (stdin input)', async () => {
    const stdin = JSON.stringify(vectorBody('mixed-signs'));
    const { code, stdout, stderr } = await run(['submit', '-', '--url', url, '--wait'], { stdin });
    expect(stderr).toBe('');
    expect(code).toBe(EXIT_OK);
    const job = JSON.parse(stdout) as JobView;
    expect(job.state).toBe('succeeded');
    expect(relErr(job.result!.x as number[], loadVector('mixed-signs').solution.x)).toBeLessThan(1e-8);
  });

  it('--wait draws progress on a terminal', async () => {
    const path = file('slow.json', slowBody(1));
    const { code, stdout, stderr } = await run(['submit', path, '--url', url, '--wait'], { tty: true });
    expect(code).toBe(EXIT_OK);
    expect(JSON.parse(stdout).state).toBe('succeeded');
    expect(stderr).toMatch(/\r {2}iter \d+ {2}loss /);
    // after the progress line, the start the worker used and the cell it found
    const job = JSON.parse(stdout) as JobView;
    const summary = `  start ${job.result!.startMethod}  negative slacks ${job.result!.negativeSlacks} of ${job.n}`;
    expect(job.result!.startMethod).toMatch(/^(global|global-signs)$/);
    expect(stderr.endsWith(`\x1b[K\n${summary}\n`)).toBe(true);
  });

  it('a failed job exits 65 with its message', async () => {
    const A = [1, 2, 3, 4, 5, 6].map((i) => [i, 2 * i]);
    const path = file('rank.json', { A, b: [0, 0, 0, 0, 0, 0], sigma: [0.3, 0.3, 0.3, 0.3, 0.4, 0.4] });
    const { code, stdout, stderr } = await run(['submit', path, '--url', url, '--wait']);
    expect(code).toBe(EXIT_DATA);
    expect(JSON.parse(stdout).state).toBe('failed');
    expect(stderr).toMatch(/^levinv: job [0-9a-f-]+ failed: A \(6 x 2\) is rank-deficient: its columns.*\n$/);
    expect(stderr.split('\n')).toHaveLength(2);
  });

  it('an invalid problem exits 65 with the problem detail on one line', async () => {
    const { code, stdout, stderr } = await run([
      'submit',
      file('bad.json', { A: [[1, 2], [3]], b: [1, 2], sigma: [0.5, 0.5] }),
      '--url',
      url,
    ]);
    expect(code).toBe(EXIT_DATA);
    expect(stdout).toBe('');
    expect(stderr).toBe('levinv: A[1]: expected 2 numbers, got 1\n');
  });

  it("a problem with several bad fields exits 65 with one line for each of the service's errors", async () => {
    const { code, stdout, stderr } = await run([
      'submit',
      file('bad2.json', {
        A: [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
        b: [0, 'y', 0],
        sigma: [0.5, 2, -1],
      }),
      '--url',
      url,
    ]);
    expect(code).toBe(EXIT_DATA);
    expect(stdout).toBe('');
    // the same lines `levinv solve` prints for the same document (A[1], not the pointer /A/1)
    expect(stderr).toBe(
      [
        'levinv: b[1]: expected a finite number, got "y"',
        'levinv: sigma[1]: expected a score in [0, 1], got 2',
        'levinv: sigma[2]: expected a score in [0, 1], got -1',
        '',
      ].join('\n'),
    );
  });

  it('a refused connection exits 69 with one line', async () => {
    const port = await freePort();
    const { code, stderr } = await run([
      'submit',
      file('t.json', vectorBody('tiny')),
      '--url',
      `http://127.0.0.1:${port}`,
    ]);
    expect(code).toBe(EXIT_UNAVAILABLE);
    expect(stderr).toBe(`levinv: cannot reach levinv at http://127.0.0.1:${port}: connection refused\n`);
  });

  it('rejects a bad --url and a missing file argument as usage errors', async () => {
    expect((await run(['submit', file('u.json', {}), '--url', 'ftp://x'])).code).toBe(EXIT_USAGE);
    expect((await run(['submit', '--url', url])).code).toBe(EXIT_USAGE);
  });
});
