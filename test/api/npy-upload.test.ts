/**
 * Binary uploads: POST /solve as multipart/form-data with NumPy .npy parts and a json part. Small ones are
 * parsed inline, large ones (over 256 KiB) on the parse thread; both are checked by the problem schema with
 * the JSON body's messages and pointers, and give the same job fingerprint as the same problem in JSON.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/jobs/types.js';
import { generateProblem } from '../../src/problem/generate.js';
import { encodeNpy, parseNpy } from '../../src/problem/npy.js';
import { relErr } from '../helpers/testdata.js';
import { expectProblem, type Harness, startHarness, waitForJob } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('api-npy', { workers: 1, maxBodyBytes: 8 * 1024 * 1024 });
});
afterAll(() => h?.close());

type Parts = Record<string, Buffer | string>;

/** The .npy parts of a generated problem (A n x d, the vectors 1-d). */
function npyParts(
  n: number,
  d: number,
  seed: number,
): { parts: Parts; json: ReturnType<typeof generateProblem> } {
  const p = generateProblem({ n, d, seed });
  const vector = (v: number[]) => encodeNpy(Float64Array.from(v), [v.length]);
  return {
    json: p,
    parts: {
      A: encodeNpy(Float64Array.from(p.A.flat()), [n, d]),
      b: vector(p.b),
      sigma: vector(p.sigma),
      xStar: vector(p.xStar),
    },
  };
}

function post(parts: Parts, json?: unknown, headers: Record<string, string> = {}) {
  let req = h.http().post('/solve');
  for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
  for (const [name, value] of Object.entries(parts)) {
    req = typeof value === 'string' ? req.field(name, value) : req.attach(name, value, `${name}.npy`);
  }
  if (json !== undefined) req = req.field('json', JSON.stringify(json));
  return req;
}

describe('POST /solve with .npy parts', () => {
  it('solves a small upload (parsed inline) to its known answer', async () => {
    const { parts } = npyParts(200, 8, 1);
    const res = await post(parts, { method: 'gauss-newton', options: { maxIterations: 50 } });
    expect(res.status, res.text).toBe(202);
    const job = res.body as JobView;
    expect(job).toMatchObject({ n: 200, d: 8, method: 'gauss-newton' });
    const done = await waitForJob(h, job.id);
    expect(done.state).toBe('succeeded');
    expect(done.result!.relError).toBeLessThan(1e-8);
  });

  it('solves a large upload (parsed on the thread): 20000 x 20, 3.2 MB of A', async () => {
    const { parts, json } = npyParts(20000, 20, 2);
    expect((parts.A as Buffer).length).toBeGreaterThan(256 * 1024);
    const res = await post(parts);
    expect(res.status, res.text).toBe(202);
    const done = await waitForJob(h, (res.body as JobView).id, (j) => j.done, 60_000);
    expect(done.state).toBe('succeeded');
    expect(relErr(done.result!.x as number[], json.xStar)).toBeLessThan(1e-8);
  });

  it('is the same submission as the JSON body: an Idempotency-Key matches across the two', async () => {
    const { parts, json } = npyParts(60, 4, 3);
    const first = await h.http().post('/solve').set('idempotency-key', 'same-problem').send(json);
    expect(first.status).toBe(202);
    const again = await post(parts, undefined, { 'idempotency-key': 'same-problem' });
    expect(again.status, again.text).toBe(200);
    expect((again.body as JobView).id).toBe((first.body as JobView).id);
    await waitForJob(h, (first.body as JobView).id);
  });

  it('answers 400 with a pointer for a bad file, part or value, and 413 over the body limit', async () => {
    const { parts } = npyParts(40, 3, 4);
    const cases: [Parts, unknown, number, RegExp, string?][] = [];
    const f4 = Buffer.from(parts.A as Buffer);
    f4.write("'<f4'", f4.indexOf("'<f8'"), 'latin1');
    cases.push([
      { ...parts, A: f4 },
      undefined,
      400,
      /expected little-endian float64 \('<f8'\), got dtype '<f4'/,
      '/A',
    ]);
    const big = Buffer.from(parts.b as Buffer);
    big.write("'>f8'", big.indexOf("'<f8'"), 'latin1');
    cases.push([{ ...parts, b: big }, undefined, 400, /big-endian float64/, '/b']);
    const truncated = (parts.sigma as Buffer).subarray(0, (parts.sigma as Buffer).length - 3);
    cases.push([
      { ...parts, sigma: truncated },
      undefined,
      400,
      /truncated: shape \(40\) needs 320 bytes/,
      '/sigma',
    ]);
    cases.push([
      { ...parts, A: encodeNpy(new Float64Array(120), [120]) },
      undefined,
      400,
      /expected a 2-d array/,
      '/A',
    ]);
    cases.push([{ ...parts, junk: parts.b }, undefined, 400, /unknown part 'junk': expected A, b, sigma/]);
    cases.push([
      { ...parts, b: 'not a file' },
      undefined,
      400,
      /b: expected an \.npy file part, got a text field/,
    ]);
    cases.push([parts, { A: [[1]] }, 400, /send A as an \.npy part, not in the json part/, '/A']);
    cases.push([parts, [1, 2], 400, /expected a JSON object/, '/json']);
    const badSigma = Float64Array.from({ length: 40 }, () => 0.1);
    badSigma[3] = 1.5;
    cases.push([
      { ...parts, sigma: encodeNpy(badSigma, [40]) },
      undefined,
      400,
      /expected a score in \[0, 1\], got 1\.5/,
      '/sigma/3',
    ]);
    const nan = new Float64Array(120).fill(1);
    nan[7] = Number.NaN;
    cases.push([
      { ...parts, A: encodeNpy(nan, [40, 3]) },
      undefined,
      400,
      /expected a finite number, got NaN/,
      '/A/data/7',
    ]);
    cases.push([
      { ...parts, b: encodeNpy(new Float64Array(39), [39]) },
      undefined,
      400,
      /expected 40 numbers \(one per row of A\), got 39/,
      '/b',
    ]);
    const { A, sigma } = parts;
    cases.push([{ A, sigma }, undefined, 400, /required/, '/b']);
    cases.push([
      { ...parts, A: encodeNpy(new Float64Array(1_100_000), [110_000, 10]) },
      undefined,
      413,
      /body limit/,
    ]);
    const listed = async () => ((await h.http().get('/jobs?limit=100')).body.items as JobView[]).length;
    const before = await listed();
    for (const [p, json, status, message, pointer] of cases) {
      const problem = expectProblem(await post(p, json), status);
      expect(problem.detail, JSON.stringify(problem)).toMatch(message);
      if (pointer) {
        expect(
          (problem.errors as { pointer: string }[]).map((e) => e.pointer),
          JSON.stringify(problem),
        ).toContain(pointer);
      }
    }
    // malformed multipart bodies, too many parts, a prototype key: 4xx problem+json, never a 500
    const raw = (type: string, body: string) => h.http().post('/solve').set('content-type', type).send(body);
    expect(expectProblem(await raw('multipart/form-data', 'xx'), 400).detail).toMatch(
      /malformed: .*Boundary not found/,
    );
    const cut = '--abc\r\nContent-Disposition: form-data; name="A"; filename="A.npy"\r\n\r\nhello';
    expect(expectProblem(await raw('multipart/form-data; boundary=abc', cut), 400).detail).toMatch(
      /malformed/,
    );
    let many = h.http().post('/solve');
    for (let i = 0; i < 12; i++) many = many.attach('b', parts.b as Buffer, 'b.npy');
    expect([400, 413]).toContain((await many).status);
    expectProblem(
      await h
        .http()
        .post('/solve')
        .attach('__proto__', parts.b as Buffer, 'x.npy'),
      400,
    );
    // nothing was queued by any of them, and the service answers
    expect(await listed()).toBe(before);
    expect((await h.http().get('/healthz')).status).toBe(200);
  });
});

describe('GET /jobs/{id}/result/{vector}.npy', () => {
  it('gives leverage and x as .npy files equal to the JSON result; 409 before there is one', async () => {
    const { parts } = npyParts(300, 5, 6);
    const res = await post(parts);
    const id = (res.body as JobView).id;
    const done = await waitForJob(h, id);
    for (const [file, values] of [
      ['leverage.npy', done.result!.leverage],
      ['x.npy', done.result!.x],
    ] as const) {
      const got = await h
        .http()
        .get(`/jobs/${id}/result/${file}`)
        .buffer(true)
        .parse((response, callback) => {
          const chunks: Buffer[] = [];
          response.on('data', (c: Buffer) => chunks.push(c));
          response.on('end', () => callback(null, Buffer.concat(chunks)));
        });
      expect(got.status).toBe(200);
      expect(got.headers['content-type']).toBe('application/octet-stream');
      expect(got.headers['content-disposition']).toBe(`attachment; filename="${file}"`);
      const array = parseNpy(new Uint8Array(got.body as Buffer), file);
      expect(array.shape).toEqual([values.length]);
      expect([...array.data]).toEqual(values);
    }
    expectProblem(await h.http().get(`/jobs/${id}/result/A.npy`), 400);
    // a job still running has none yet
    const slow = await post(parts, {
      method: 'gd',
      options: { tolerance: 0, maxIterations: 100_000, maxSeconds: 20 },
    });
    const slowId = (slow.body as JobView).id;
    await waitForJob(h, slowId, (j) => j.state === 'running');
    expect(expectProblem(await h.http().get(`/jobs/${slowId}/result/x.npy`), 409).detail).toMatch(
      /has no result yet \(running\)/,
    );
    await h.http().post(`/jobs/${slowId}/cancel`);
    await waitForJob(h, slowId);
    expectProblem(await h.http().get('/jobs/00000000-0000-4000-8000-000000000000/result/x.npy'), 404);
  });
});
