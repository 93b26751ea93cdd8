/** The typed client against the real service: a private Redis, the API on a loopback port and a worker. */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Job,
  type JobEvent,
  LevinvClient,
  LevinvError,
  type Problem,
  type Progress,
} from '../../src/client/index.js';
import { generateProblem } from '../../src/problem/generate.js';
import { encodeNpy } from '../../src/problem/npy.js';
import { type Harness, slowBody as slowDoc, startHarness, vectorBody as vectorDoc } from '../api/harness.js';
import { relErr } from '../helpers/testdata.js';

let h: Harness;
let client: LevinvClient;
beforeAll(async () => {
  h = await startHarness('client', { workers: 1 });
  client = new LevinvClient({ baseUrl: `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}` });
});
afterAll(async () => {
  await h?.close();
});

/** The harness's bodies, typed as the problems they are. */
const slowBody = (seconds: number) => slowDoc(seconds) as Problem;
const vectorBody = (name: string) => vectorDoc(name) as Problem;

const problem = generateProblem({ n: 200, d: 5, seed: 11 });

/** Polls until `until(job)` holds (generous: the machine is shared). */
async function poll(id: string, until: (job: Job) => boolean, timeoutMs = 60_000): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await client.get(id);
    if (until(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.state}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('LevinvClient against the service', () => {
  it('solve with wait returns the succeeded job, x close to xStar', async () => {
    const job = await client.solve({ ...problem, method: 'gauss-newton' }, { wait: 30 });
    expect(job).toMatchObject({ state: 'succeeded', done: true, n: 200, d: 5, method: 'gauss-newton' });
    expect(relErr(job.result!.x as number[], problem.xStar)).toBeLessThan(1e-8);
    expect(job.result!.relError).toBeLessThan(1e-8);
  });

  it('solve without wait answers the queued job; events() yields progress and ends with done', async () => {
    const job = await client.solve(slowBody(1));
    expect(job.done).toBe(false);
    expect(['queued', 'running']).toContain(job.state);
    const events: JobEvent[] = [];
    for await (const event of client.events(job.id)) events.push(event);
    const types = events.map((e) => e.type);
    expect(types.filter((t) => t === 'progress').length).toBeGreaterThan(0);
    expect(types.at(-1)).toBe('done');
    expect(types.filter((t) => t === 'done')).toHaveLength(1);
    const done = events.at(-1) as Extract<JobEvent, { type: 'done' }>;
    expect(done.data).toMatchObject({ id: job.id, state: 'succeeded', done: true });
    expect(done.data).toEqual(await client.get(job.id));
    // every event has an id, increasing (the stream's order)
    const ids = events.map((e) => e.id!);
    expect(ids.every((id) => /^\d+-\d+$/.test(id))).toBe(true);
    // progress iterations never go backwards
    const iterations = events.flatMap((e) => (e.type === 'progress' ? [e.data.iteration] : []));
    expect(iterations).toEqual([...iterations].sort((a, b) => a - b));
    // resuming after the first event skips it: the same events from the second on
    const resumed: JobEvent[] = [];
    for await (const event of client.events(job.id, { lastEventId: ids[0] })) resumed.push(event);
    expect(resumed.map((e) => e.id)).toEqual(ids.slice(1));
  });

  it('solve with wait and onProgress follows the events: progress reported, job done', async () => {
    const seen: Progress[] = [];
    const job = await client.solve(slowBody(1), { wait: 60, onProgress: (p) => seen.push(p) });
    expect(job).toMatchObject({ state: 'succeeded', done: true });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((p) => Number.isInteger(p.iteration) && typeof p.loss === 'number')).toBe(true);
  });

  it('a wait that ends first returns the job as it is then (not done)', async () => {
    const job = await client.solve(slowBody(30), { wait: 1, onProgress: () => undefined });
    expect(job.done).toBe(false);
    expect((await client.cancel(job.id)).id).toBe(job.id);
    expect((await client.waitUntilDone(job.id)).state).toBe('cancelled');
  });

  it('iterates() pages through every recorded iterate in order', async () => {
    const job = await client.solve(
      // from the centre: the global start lands on xStar at once, which leaves nothing to page through
      { ...problem, method: 'gd', options: { maxIterations: 25, start: 'centre' } },
      { wait: 30 },
    );
    expect(job.done).toBe(true);
    const recorded = job.iterates.recorded;
    expect(recorded).toBeGreaterThan(7);
    const pages = [];
    for await (const page of client.iterates(job.id, { pageSize: 7 })) pages.push(page);
    expect(pages.length).toBe(Math.ceil(recorded / 7));
    expect(pages.slice(0, -1).every((p) => p.items.length === 7)).toBe(true);
    const iterations = pages.flatMap((p) => p.items.map((it) => it.iteration));
    expect(iterations).toEqual(Array.from({ length: recorded }, (_, i) => i));
    expect(pages.at(-1)!.nextOffset).toBe(recorded);
    // from an offset
    const later = [];
    for await (const page of client.iterates(job.id, { offset: recorded - 2 })) later.push(...page.items);
    expect(later.map((it) => it.iteration)).toEqual([recorded - 2, recorded - 1]);
  });

  it('list() with a state filter and listAll() following the cursor', async () => {
    const ok = await Promise.all(
      [1, 2, 3].map((seed) => client.solve(generateProblem({ n: 30, d: 3, seed }), { wait: 30 })),
    );
    const A = [1, 2, 3, 4, 5, 6].map((i) => [i, 2 * i]);
    const failed = await client.solve(
      { A, b: [0, 0, 0, 0, 0, 0], sigma: [0.3, 0.3, 0.3, 0.3, 0.4, 0.4] },
      { wait: 30 },
    );
    expect(ok.map((j) => j.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(failed.state).toBe('failed');
    const failedPage = await client.list({ state: 'failed' });
    expect(failedPage.items.map((j) => j.id)).toContain(failed.id);
    expect(failedPage.items.every((j) => j.state === 'failed')).toBe(true);
    const first = await client.list({ state: 'succeeded', limit: 2 });
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).toEqual(expect.any(String));
    const pages = [];
    for await (const page of client.listAll({ state: 'succeeded', limit: 2 })) pages.push(page);
    expect(pages.length).toBeGreaterThan(1);
    expect(pages.every((p) => p.items.length <= 2)).toBe(true);
    expect(pages.at(-1)!.nextCursor).toBeNull();
    const ids = pages.flatMap((p) => p.items.map((j) => j.id));
    expect(new Set(ids).size).toBe(ids.length);
    for (const job of ok) expect(ids).toContain(job.id);
    expect(ids).not.toContain(failed.id);
    const all = (await client.list({ limit: 100 })).items.filter((j) => j.state === 'succeeded');
    expect(ids.length).toBe(all.length);
  });

  it('cancel() stops a long-running job: cancelled', async () => {
    const job = await client.solve(slowBody(60));
    await poll(job.id, (j) => j.state === 'running');
    const asked = await client.cancel(job.id);
    expect(asked.id).toBe(job.id);
    const final = await client.waitUntilDone(job.id);
    expect(final.state).toBe('cancelled');
    expect((await client.get(job.id)).state).toBe('cancelled');
  });

  it('delete(): a later get() throws LevinvError 404 with the problem fields', async () => {
    const job = await client.solve(vectorBody('tiny'), { wait: 30 });
    expect(job.done).toBe(true);
    await client.delete(job.id);
    const error = await rejection(client.get(job.id));
    expect(error).toBeInstanceOf(LevinvError);
    const e = error as LevinvError;
    expect(e.status).toBe(404);
    expect(e.type).toBe(e.problem!.type);
    expect(e.title).toBe(e.problem!.title);
    expect(e.detail).toContain(job.id);
    expect(e.message).toBe(e.detail);
    expect(e.problem).toMatchObject({ status: 404, instance: `/jobs/${job.id}` });
    // deleting it again, or another route of it: 404 as well
    expect(((await rejection(client.delete(job.id))) as LevinvError).status).toBe(404);
    expect(((await rejection(client.cancel(job.id))) as LevinvError).status).toBe(404);
  });

  it('a running job cannot be deleted: 409', async () => {
    const job = await client.solve(slowBody(60));
    await poll(job.id, (j) => j.state === 'running');
    const error = (await rejection(client.delete(job.id))) as LevinvError;
    expect(error.status).toBe(409);
    expect(error.detail).toMatch(/running/);
    await client.cancel(job.id);
    expect((await client.waitUntilDone(job.id)).state).toBe('cancelled');
  });

  it('an invalid problem is a LevinvError 400 with one pointer per bad field', async () => {
    const error = (await rejection(
      client.solve({ A: [[1, 2], [3]], b: [1, 2], sigma: [0.5, 2] }),
    )) as LevinvError;
    expect(error).toBeInstanceOf(LevinvError);
    expect(error.status).toBe(400);
    const pointers = error.errors.map((e) => e.pointer);
    expect(pointers).toContain('/A/1');
    expect(error.errors.every((e) => typeof e.detail === 'string')).toBe(true);
    // a bad query parameter names the parameter
    const bad = (await rejection(client.list({ limit: 1000 }))) as LevinvError;
    expect(bad.status).toBe(400);
    expect(bad.errors.map((e) => e.parameter)).toContain('limit');
  });

  it('resultVector() reads the .npy endpoints: the same numbers as the JSON result', async () => {
    const job = await client.solve({ ...problem, method: 'gauss-newton' }, { wait: 30 });
    const x = await client.resultVector(job.id, 'x');
    const leverage = await client.resultVector(job.id, 'leverage');
    expect(x).toBeInstanceOf(Float64Array);
    expect(Array.from(x)).toEqual(job.result!.x);
    expect(Array.from(leverage)).toEqual(job.result!.leverage);
    expect(leverage.length).toBe(200);
    // no result yet: 409
    const slow = await client.solve(slowBody(60));
    const error = (await rejection(client.resultVector(slow.id, 'x'))) as LevinvError;
    expect(error.status).toBe(409);
    await client.cancel(slow.id);
    await client.waitUntilDone(slow.id);
  });

  it("resultVector('signs') reads the cell of x, which the JSON result leaves out", async () => {
    const mixed = generateProblem({ n: 60, d: 4, seed: 2, signs: 'mixed' });
    const { signs: cell, ...withoutSigns } = mixed;
    const job = await client.solve(withoutSigns, { wait: 30 });
    expect(job.state).toBe('succeeded');
    expect(job.result!.startMethod).toBe('global');
    expect(job.result).not.toHaveProperty('signs');
    const signs = await client.resultVector(job.id, 'signs');
    expect(signs).toBeInstanceOf(Float64Array);
    expect(Array.from(signs)).toEqual(cell);
    expect(job.result!.negativeSlacks).toBe(cell!.filter((s) => s < 0).length);
  });

  it('solve() sends an NpyProblem as multipart .npy parts; a missing part is a 400', async () => {
    const npy = (values: number[] | number[][]) =>
      Array.isArray(values[0])
        ? encodeNpy(Float64Array.from((values as number[][]).flat()), [values.length, values[0].length])
        : encodeNpy(Float64Array.from(values as number[]), [values.length]);
    const job = await client.solve(
      {
        npy: {
          A: npy(problem.A),
          b: npy(problem.b),
          sigma: new Blob([npy(problem.sigma)]),
          xStar: npy(problem.xStar),
        },
        json: { method: 'gauss-newton' },
      },
      { wait: 30 },
    );
    expect(job).toMatchObject({ state: 'succeeded', n: 200, d: 5, method: 'gauss-newton' });
    expect(job.result!.relError).toBeLessThan(1e-8);
    const error = (await rejection(
      client.solve({ npy: { A: npy(problem.A), b: npy(problem.b) } } as never),
    )) as LevinvError;
    expect(error.status).toBe(400);
    expect(error.detail).toMatch(/sigma: required/);
  });

  it('solve() encodes plain arrays and Float64Arrays of an NpyProblem itself; the json part takes the rest', async () => {
    const job = await client.solve(
      {
        npy: { A: problem.A, b: Float64Array.from(problem.b), sigma: problem.sigma, xStar: problem.xStar },
        json: { method: 'newton', options: { maxIterations: 50 } },
      },
      { wait: 30 },
    );
    expect(job).toMatchObject({ state: 'succeeded', n: 200, d: 5, method: 'newton' });
    expect(relErr(job.result!.x as number[], problem.xStar)).toBeLessThan(1e-8);
    // an array in the json part is refused by the service, with the part named
    const error = (await rejection(
      client.solve({
        npy: { A: problem.A, b: problem.b, sigma: problem.sigma },
        json: { xStar: [1] } as never,
      }),
    )) as LevinvError;
    expect(error.status).toBe(400);
    expect(error.detail).toMatch(/xStar/);
  });

  it('the same idempotency key twice gives the same job; with another body a 422', async () => {
    const key = `client-test-${Date.now()}`;
    const first = await client.solve(vectorBody('tiny'), { idempotencyKey: key });
    const again = await client.solve(vectorBody('tiny'), { idempotencyKey: key });
    expect(again.id).toBe(first.id);
    const error = (await rejection(
      client.solve(vectorBody('mixed-signs'), { idempotencyKey: key }),
    )) as LevinvError;
    expect(error.status).toBe(422);
    // without a key given, every call is a new job
    const a = await client.solve(vectorBody('tiny'));
    const b = await client.solve(vectorBody('tiny'));
    expect(a.id).not.toBe(b.id);
  });

  it('aborting the signal stops events() and a waiting solve() with an AbortError', async () => {
    const job = await client.solve(slowBody(60));
    const controller = new AbortController();
    const seen: JobEvent[] = [];
    const error = await rejection(
      (async () => {
        for await (const event of client.events(job.id, { signal: controller.signal })) {
          seen.push(event);
          controller.abort();
        }
      })(),
    );
    expect((error as Error).name).toBe('AbortError');
    expect(seen).toHaveLength(1);
    const waiting = new AbortController();
    const solving = client.solve(slowBody(60), { wait: true, signal: waiting.signal });
    setTimeout(() => waiting.abort(), 200);
    expect(((await rejection(solving)) as Error).name).toBe('AbortError');
    await client.cancel(job.id);
    await client.waitUntilDone(job.id);
    // an already aborted signal: nothing is sent
    const before = (await client.list({ limit: 100 })).items.length;
    const aborted = AbortSignal.abort();
    expect(((await rejection(client.solve(vectorBody('tiny'), { signal: aborted }))) as Error).name).toBe(
      'AbortError',
    );
    expect((await client.list({ limit: 100 })).items.length).toBe(before);
  });
});
