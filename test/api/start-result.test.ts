/**
 * How a job's start travels to the user: the result JSON shows startMethod, negativeSlacks, ambiguity and
 * alternatives; the cell of x (signs, n values) is served only as signs.npy, and neither GET /jobs/{id} nor
 * the done event carries it.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/jobs/types.js';
import { generateProblem } from '../../src/problem/generate.js';
import { parseNpy } from '../../src/problem/npy.js';
import { parseProblem } from '../../src/problem/parse.js';
import { leverageScores } from '../../src/solver/index.js';
import { expectProblem, type Harness, startHarness, submit, waitForJob } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('api-start-result', { workers: 1 });
});
afterAll(() => h?.close());

/** A mixed-sign problem: about 30% of the slacks at xStar are negative. */
const mixed = generateProblem({ n: 60, d: 4, seed: 2, signs: 'mixed' });
const mixedSigns = mixed.signs!;
const negatives = mixedSigns.filter((s) => s < 0).length;

async function getNpy(path: string): Promise<{ status: number; data?: number[]; shape?: number[] }> {
  const res = await h
    .http()
    .get(path)
    .buffer(true)
    .parse((response, callback) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => callback(null, Buffer.concat(chunks)));
    });
  if (res.status !== 200) return { status: res.status };
  const array = parseNpy(new Uint8Array(res.body as Buffer), 'signs.npy');
  return { status: 200, data: [...array.data], shape: [...array.shape] };
}

const maxAbsDiff = (a: readonly (number | null)[], b: readonly number[]): number =>
  Math.max(...a.map((v, i) => Math.abs((v as number) - b[i])));

describe('the start in the job result', () => {
  it('a mixed-sign problem without signs or x0: the global start finds x, its cell and the negative slacks', async () => {
    // sanity: the problem really has both signs, so an all-positive start would be in the wrong cell
    expect(negatives).toBeGreaterThan(5);
    expect(negatives).toBeLessThan(mixedSigns.length);
    const { signs: _signs, ...body } = mixed;
    const job = await submit(h, body);
    const done = await waitForJob(h, job.id, (j) => j.done, 60_000);
    expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
    const result = done.result!;
    expect(maxAbsDiff(result.x, mixed.xStar)).toBeLessThan(1e-8);
    expect(result.startMethod).toBe('global');
    expect(result.negativeSlacks).toBe(negatives);
    expect(result.ambiguity).toBeUndefined();
    expect(result.alternatives).toBeUndefined();
    // the n-long cell is not in the JSON ...
    expect(result).not.toHaveProperty('signs');
    // ... but in signs.npy: float64 +1/-1, the generator's cell
    const signs = await getNpy(`/jobs/${job.id}/result/signs.npy`);
    expect(signs.status).toBe(200);
    expect(signs.shape).toEqual([mixed.b.length]);
    expect(signs.data).toEqual(mixedSigns);
  });

  it('the done event shows the result like GET /jobs/{id}: startMethod, no signs', async () => {
    const { signs: _signs, ...body } = mixed;
    const job = await submit(h, body);
    await waitForJob(h, job.id, (j) => j.done, 60_000);
    const res = await h.http().get(`/jobs/${job.id}/events`).buffer(true);
    expect(res.status).toBe(200);
    const line = res.text.split('\n\n').find((block) => block.includes('event: done'));
    expect(line, res.text.slice(0, 500)).toBeDefined();
    const data = JSON.parse(
      line!
        .split('\n')
        .find((l) => l.startsWith('data: '))!
        .slice(6),
    ) as JobView;
    expect(data.result!.startMethod).toBe('global');
    expect(data.result!.negativeSlacks).toBe(negatives);
    expect(data.result).not.toHaveProperty('signs');
    // the stored result still has them
    expect((await getNpy(`/jobs/${job.id}/result/signs.npy`)).data).toEqual(mixedSigns);
  });

  it("options.start 'centre' starts from the analytic centre of the given cell", async () => {
    const job = await submit(h, { ...mixed, options: { start: 'centre' } });
    const done = await waitForJob(h, job.id, (j) => j.done, 60_000);
    expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.result!.startMethod).toBe('centre');
    expect(done.result!.negativeSlacks).toBe(negatives);
    expect(maxAbsDiff(done.result!.x, mixed.xStar)).toBeLessThan(1e-8);
    expect((await getNpy(`/jobs/${job.id}/result/signs.npy`)).data).toEqual(mixedSigns);
  });

  it('b = 0: the result says why x is not unique and gives -x as the alternative', async () => {
    const b = mixed.b.map(() => 0);
    const { problem } = parseProblem({ A: mixed.A, b, sigma: mixed.sigma });
    const sigma = Array.from(leverageScores(problem, Float64Array.from(mixed.xStar)));
    const job = await submit(h, { A: mixed.A, b, sigma });
    const done = await waitForJob(h, job.id, (j) => j.done, 60_000);
    expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
    const result = done.result!;
    expect(result.ambiguity).toMatch(/b = 0/);
    expect(result.alternatives).toHaveLength(1);
    expect(result.alternatives![0]).toEqual(result.x.map((v) => -(v as number)));
    const signs = (await getNpy(`/jobs/${job.id}/result/signs.npy`)).data!;
    expect(signs.filter((s) => s < 0)).toHaveLength(result.negativeSlacks!);
    expect(signs.every((s) => s === 1 || s === -1)).toBe(true);
  });

  it('a result stored before these fields existed still reads: 200 without them, signs.npy a 409', async () => {
    const job = await submit(h, mixed);
    await waitForJob(h, job.id, (j) => j.done, 60_000);
    const redis = new Redis(h.redis.url);
    try {
      // this test's private Redis: the one result key of this job
      const [key] = await redis.keys(`*${job.id}*:result`);
      const { startMethod, negativeSlacks, signs, ambiguity, alternatives, ...old } = JSON.parse(
        (await redis.get(key!))!,
      );
      expect(signs).toEqual(mixedSigns);
      await redis.set(key!, JSON.stringify(old), 'KEEPTTL');
    } finally {
      redis.disconnect();
    }
    const res = await h.http().get(`/jobs/${job.id}`);
    expect(res.status).toBe(200);
    expect(res.body.result.x).toHaveLength(4);
    expect(res.body.result).not.toHaveProperty('startMethod');
    const body = expectProblem(await h.http().get(`/jobs/${job.id}/result/signs.npy`), 409);
    expect(body.detail).toBe(`the result of job '${job.id}' has no signs`);
    expect((await getNpy(`/jobs/${job.id}/result/x.npy`)).status).toBe(200);
  });

  it('a bad options.start is a 400 naming /options/start', async () => {
    const res = await h
      .http()
      .post('/solve')
      .send({ ...mixed, options: { start: 'middle' } });
    const body = expectProblem(res, 400);
    const pointers = (body.errors as { pointer?: string }[]).map((e) => e.pointer);
    expect(pointers).toContain('/options/start');
  });
});
