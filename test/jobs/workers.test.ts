/**
 * The worker side under stress: solves longer than the BullMQ lock, a worker process killed mid-solve,
 * and graceful shutdown (finish, or hand the job back).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import type { JobEvent } from '../../src/jobs/index.js';
import { redisForFile } from '../helpers/redis.js';
import { type Harness, harness, longGd, OWNER, waitFor } from './harness.js';

const LOCK_MS = 1000;
const STALLED_MS = 500;

const redis = redisForFile();
let h: Harness;
let child: ChildProcess | undefined;

afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  child = undefined;
  await h?.close();
});

async function stateEvents(id: string): Promise<unknown[]> {
  const events: JobEvent[] = [];
  for await (const e of h.service.events(id, OWNER, undefined, new AbortController().signal)) events.push(e);
  return events.filter((e) => e.type === 'state').map((e) => e.data);
}

async function bullEvents(): Promise<string[]> {
  const entries = await h.raw.xrange(`${h.keys.bullPrefix}:${h.queueName}:events`, '-', '+');
  return entries.map(([, fields]) => fields[fields.indexOf('event') + 1]);
}

it('keeps the lock of a solve that runs longer than the lock duration', async () => {
  h = await harness(redis.url, 'long-lock');
  await h.startWorkers({ lockDurationMs: LOCK_MS, stalledIntervalMs: STALLED_MS });
  const { job } = await h.service.submit(longGd(3.5));
  const done = await h.waitForState(job.id, ['succeeded', 'failed', 'cancelled']);
  expect(done.state).toBe('succeeded');
  expect(done.result!.reason).toBe('max-seconds');
  expect(Date.parse(done.finishedAt!) - Date.parse(done.startedAt!)).toBeGreaterThan(3 * LOCK_MS);

  await waitFor(async () => (await h.queue.getJobState(job.id)) === 'completed', 5000);
  const bull = await h.queue.getJob(job.id);
  expect(bull!.attemptsStarted).toBe(1);
  expect(bull!.stalledCounter).toBe(0);
  expect(await bullEvents()).not.toContain('stalled');
  expect(await stateEvents(job.id)).toEqual([
    { state: 'queued' },
    { state: 'running', attempt: 1 },
    { state: 'succeeded' },
  ]);
});

it("shows a dead worker's job queued (progress kept) until another worker resumes it", async () => {
  h = await harness(redis.url, 'killed');
  child = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/worker.mjs', import.meta.url))], {
    env: {
      ...process.env,
      TEST_REDIS_URL: h.url,
      TEST_KEY_PREFIX: h.prefix,
      TEST_QUEUE_NAME: h.queueName,
      TEST_LOCK_MS: String(LOCK_MS),
      TEST_STALLED_MS: String(STALLED_MS),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  expect(line.toString()).toContain('ready');

  // every iterate recorded, and all of them kept: 20000 rows keep a 2.5 s run well under the 10000 limit
  const { job } = await h.service.submit(longGd(2.5, 1, 2, 20_000));
  await waitFor(async () => ((await h.service.get(job.id, OWNER))?.iterates.recorded ?? 0) > 20, 10_000);
  child.kill('SIGKILL');
  await once(child, 'exit');
  const left = (await h.service.get(job.id, OWNER))!;
  expect(left.state).toBe('running');

  // the only other worker is busy with a job of its own: the dead one's job waits, and says so
  const { job: blocker } = await h.service.submit(longGd(3));
  await h.startWorkers({ lockDurationMs: LOCK_MS, stalledIntervalMs: STALLED_MS });
  const waiting = await h.waitForState(job.id, ['queued'], 10_000);
  expect(waiting.progress).toEqual(left.progress);
  expect(waiting.iterates.recorded).toBe(left.iterates.recorded);
  expect(waiting.resumes).toBe(0);
  expect((await h.service.get(blocker.id, OWNER))!.state).toBe('running');
  expect((await h.service.list({ owner: OWNER, state: 'queued', limit: 5 })).items.map((j) => j.id)).toEqual([
    job.id,
  ]);

  const done = await h.waitForState(job.id, ['succeeded', 'failed', 'cancelled'], 30_000);
  expect(done.state).toBe('succeeded');
  expect(done.result!.reason).toBe('max-seconds');
  expect(done.resumes).toBe(1);
  await waitFor(async () => (await h.queue.getJobState(job.id)) === 'completed', 5000);
  const bull = await h.queue.getJob(job.id);
  expect(bull!.attemptsStarted).toBe(2);
  expect(bull!.stalledCounter).toBe(1);
  expect(await bullEvents()).toContain('stalled');
  const states = await stateEvents(job.id);
  expect(states.slice(0, 3)).toEqual([
    { state: 'queued' },
    { state: 'running', attempt: 1 },
    { state: 'queued', reason: 'worker-lost' },
  ]);
  expect(states[3]).toMatchObject({ state: 'running', attempt: 2 });
  expect((states[3] as { resumedFrom: number }).resumedFrom).toBeGreaterThanOrEqual(left.progress!.iteration);
  expect(states.slice(4)).toEqual([{ state: 'succeeded' }]);
  // resumed, not started over: one run of iterates from 0, each iteration once
  const { items } = (await h.service.iterates(job.id, OWNER, 0, 100_000))!;
  expect(items.map((it) => it.iteration)).toEqual(Array.from({ length: items.length }, (_, i) => i));
  expect(items.at(-1)!.iteration).toBe(done.result!.iterations);
});

it('lets a running solve finish when the worker closes', async () => {
  h = await harness(redis.url, 'close-finish');
  const workers = await h.startWorkers({ handBackAfterMs: 20_000 });
  const { job } = await h.service.submit(longGd(1));
  await h.waitForState(job.id, ['running']);
  await workers.close();
  expect((await h.service.get(job.id, OWNER))!.state).toBe('succeeded');
  await workers.close();
});

it('hands a long solve back with its checkpoint when the worker closes, for another worker to resume', async () => {
  h = await harness(redis.url, 'hand-back');
  const first = await h.startWorkers({ handBackAfterMs: 100 });
  const { job } = await h.service.submit(longGd(2));
  await waitFor(async () => ((await h.service.iterates(job.id, OWNER, 0, 1))?.items.length ?? 0) > 0, 10_000);
  const closing = Date.now();
  await first.close();
  expect(Date.now() - closing).toBeLessThan(5000);
  const back = (await h.service.get(job.id, OWNER))!;
  expect(back.state).toBe('queued');
  expect(back.progress!.iteration).toBeGreaterThan(0);
  const kept = (await h.service.iterates(job.id, OWNER, 0, 100_000))!.items;
  expect(kept.length).toBeGreaterThan(0);
  expect(await h.queue.getJobState(job.id)).toBe('waiting');

  await h.startWorkers();
  const done = await h.waitForState(job.id, ['succeeded', 'failed', 'cancelled']);
  expect(done.state).toBe('succeeded');
  expect(done.resumes).toBe(1);
  const states = await stateEvents(job.id);
  expect(states).toEqual([
    { state: 'queued' },
    { state: 'running', attempt: 1 },
    { state: 'queued' },
    { state: 'running', attempt: 2, resumedFrom: back.progress!.iteration },
    { state: 'succeeded' },
  ]);
  // every 50th iterate and the last, each once: the hand-back's own "last" record was dropped on resume
  const items = (await h.service.iterates(job.id, OWNER, 0, 100_000))!.items.map((it) => it.iteration);
  const last = done.result!.iterations;
  const expected = Array.from({ length: Math.floor(last / 50) + 1 }, (_, i) => 50 * i);
  if (expected.at(-1) !== last) expected.push(last);
  expect(items).toEqual(expected);
});
