/**
 * The worker's own limits (defence in depth): the time budget, the iterations and the recorded iterates
 * of a job are capped whatever its options say, a solve thread that runs out of heap fails its job once
 * (not retried), and the solver's TIME_LIMIT fails the job without a retry.
 */
import { afterEach, expect, it } from 'vitest';
import { redisForFile } from '../helpers/redis.js';
import { generated, type Harness, harness, OWNER, waitFor } from './harness.js';

const redis = redisForFile();
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const endless = (options = {}) =>
  generated(200, 8, 2, {
    method: 'gd',
    tolerance: 0,
    maxIterations: 1e9,
    record: { every: 1, includeX: false, limit: 1e9 },
    ...options,
  });

it('caps maxSeconds, and sets it when a job has none', async () => {
  h = await harness(redis.url, 'cap-seconds');
  await h.startWorkers({ maxSolveSeconds: 1, maxRecordedIterates: 100_000 });
  const unbounded = endless();
  delete unbounded.options.maxSeconds;
  const { job: a } = await h.service.submit(unbounded);
  const { job: b } = await h.service.submit(endless({ maxSeconds: 600 }));
  for (const id of [a.id, b.id]) {
    const done = await h.waitForState(id, ['succeeded', 'failed', 'cancelled'], 20_000);
    expect(done.state).toBe('succeeded');
    expect(done.result!.reason).toBe('max-seconds');
    // generous: one second of iterations plus finding the start, on a shared machine
    expect(Date.parse(done.finishedAt!) - Date.parse(done.startedAt!)).toBeLessThan(8000);
  }
});

it('caps maxIterations and keeps at most maxRecordedIterates iterates: the first ones, then the last', async () => {
  h = await harness(redis.url, 'cap-iterations');
  await h.startWorkers({ maxIterations: 40, maxRecordedIterates: 10 });
  const { job } = await h.service.submit(endless({ maxSeconds: 600 }));
  const done = await h.waitForState(job.id, ['succeeded', 'failed', 'cancelled']);
  expect(done.state).toBe('succeeded');
  expect(done.result).toMatchObject({ iterations: 40, reason: 'max-iterations' });
  expect(done.iterates).toEqual({ recorded: 10, limit: 10, truncated: true });
  const { items } = (await h.service.iterates(job.id, OWNER, 0, 100))!;
  expect(items.map((it) => it.iteration)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 40]);
});

it('fails a job whose solve thread runs out of heap, once, with OUT_OF_MEMORY', async () => {
  h = await harness(redis.url, 'oom');
  await h.startWorkers({
    maxSolveMemoryMb: 16,
    threadFile: new URL('./fixtures/oom-thread.mjs', import.meta.url),
  });
  const { job } = await h.service.submit(generated(20, 2));
  const done = await h.waitForState(job.id, ['succeeded', 'failed', 'cancelled'], 30_000);
  expect(done.state).toBe('failed');
  expect(done.error?.code).toBe('OUT_OF_MEMORY');
  expect(done.error?.message).toMatch(/80 MB/);
  await waitFor(async () => (await h!.queue.getJobState(job.id)) === 'failed', 5000);
  const bull = await h.queue.getJob(job.id);
  expect(bull!.attemptsStarted).toBe(1);
  // the pool replaces the dead thread: the next job runs (here, out of memory again, but it runs)
  const { job: next } = await h.service.submit(generated(20, 2, 2));
  expect((await h.waitForState(next.id, ['failed'], 30_000)).error?.code).toBe('OUT_OF_MEMORY');
}, 60_000);

it('fails with TIME_LIMIT, without a retry, a job whose time runs out before its first iterate', async () => {
  h = await harness(redis.url, 'time-limit');
  // finding the analytic centre of 2000 x 10 takes far longer than a millisecond
  await h.startWorkers({ maxSolveSeconds: 0.001 });
  const { job } = await h.service.submit(generated(2000, 10, 3));
  const done = await h.waitForState(job.id, ['succeeded', 'failed', 'cancelled']);
  expect(done.state).toBe('failed');
  expect(done.error?.code).toBe('TIME_LIMIT');
  await waitFor(async () => (await h!.queue.getJobState(job.id)) === 'failed', 5000);
  expect((await h.queue.getJob(job.id))!.attemptsMade).toBe(1);
});

it('ends `cancelled` a job cancelled before its first iterate', async () => {
  h = await harness(redis.url, 'cancel-early');
  // a start-point search of a few seconds: the cancel arrives during it
  await h.startWorkers();
  const { job } = await h.service.submit(generated(100_000, 20, 4));
  await h.waitForState(job.id, ['running'], 20_000);
  await h.service.cancel(job.id, OWNER);
  const done = await h.waitForState(job.id, ['succeeded', 'failed', 'cancelled'], 20_000);
  expect(done).toMatchObject({ state: 'cancelled', progress: null, iterates: { recorded: 0 } });
  expect(done.error).toEqual({ code: 'CANCELLED', message: 'cancelled before its first iterate' });
  expect(done.result).toBeUndefined();
}, 60_000);
