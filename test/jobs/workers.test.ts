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
import { type Harness, harness, longGd, waitFor } from './harness.js';

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
  for await (const e of h.service.events(id, undefined, new AbortController().signal)) events.push(e);
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

it('lets another worker finish the job of a worker killed mid-solve', async () => {
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

  const { job } = await h.service.submit(longGd(2.5));
  await waitFor(async () => ((await h.service.iterates(job.id, 0, 1))?.items.length ?? 0) > 0, 10_000);
  expect((await h.service.get(job.id))!.state).toBe('running');
  child.kill('SIGKILL');
  await once(child, 'exit');

  await h.startWorkers({ lockDurationMs: LOCK_MS, stalledIntervalMs: STALLED_MS });
  const done = await h.waitForState(job.id, ['succeeded', 'failed', 'cancelled'], 30_000);
  expect(done.state).toBe('succeeded');
  expect(done.result!.reason).toBe('max-seconds');

  await waitFor(async () => (await h.queue.getJobState(job.id)) === 'completed', 5000);
  const bull = await h.queue.getJob(job.id);
  expect(bull!.attemptsStarted).toBe(2);
  expect(bull!.stalledCounter).toBe(1);
  expect(await bullEvents()).toContain('stalled');
  expect(await stateEvents(job.id)).toEqual([
    { state: 'queued' },
    { state: 'running', attempt: 1 },
    { state: 'running', attempt: 2 },
    { state: 'succeeded' },
  ]);
  // the second attempt started over: one clean run of iterates from 0
  const { items } = (await h.service.iterates(job.id, 0, 100_000))!;
  expect(items[0].iteration).toBe(0);
  expect(items.every((it, i) => i === 0 || it.iteration > items[i - 1].iteration)).toBe(true);
  expect(items.at(-1)!.iteration).toBe(done.result!.iterations);
});

it('lets a running solve finish when the worker closes', async () => {
  h = await harness(redis.url, 'close-finish');
  const workers = await h.startWorkers({ handBackAfterMs: 20_000 });
  const { job } = await h.service.submit(longGd(1));
  await h.waitForState(job.id, ['running']);
  await workers.close();
  expect((await h.service.get(job.id))!.state).toBe('succeeded');
  await workers.close();
});

it('hands a long solve back to the queue when the worker closes, for another worker to run', async () => {
  h = await harness(redis.url, 'hand-back');
  const first = await h.startWorkers({ handBackAfterMs: 100 });
  const { job } = await h.service.submit(longGd(2));
  await waitFor(async () => ((await h.service.iterates(job.id, 0, 1))?.items.length ?? 0) > 0, 10_000);
  const closing = Date.now();
  await first.close();
  expect(Date.now() - closing).toBeLessThan(5000);
  const back = (await h.service.get(job.id))!;
  expect(back.state).toBe('queued');
  expect(back.progress).toBeNull();
  expect((await h.service.iterates(job.id, 0, 10))!.items).toEqual([]);
  expect(await h.queue.getJobState(job.id)).toBe('waiting');

  await h.startWorkers();
  const done = await h.waitForState(job.id, ['succeeded', 'failed', 'cancelled']);
  expect(done.state).toBe('succeeded');
  expect(await stateEvents(job.id)).toEqual([
    { state: 'queued' },
    { state: 'running', attempt: 1 },
    { state: 'queued' },
    { state: 'running', attempt: 2 },
    { state: 'succeeded' },
  ]);
});
