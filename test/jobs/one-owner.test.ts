/**
 * One owner per fact (store.ts): a job's state lives in its state hash (control slot) and changes there in
 * one script with its index entries; its data lives in its own slot. These tests drive the store's steps
 * one by one, as two racing attempts or a process dying between two steps would, and check that every
 * reader sees one consistent job.
 */
import { afterEach, expect, it } from 'vitest';
import type { JobEvent, JobService } from '../../src/jobs/index.js';
import { type JobMeta, JobStore } from '../../src/jobs/store.js';
import { redisForFile } from '../helpers/redis.js';
import { type Harness, harness, longGd, OWNER, TTL } from './harness.js';

const redis = redisForFile();
let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

const RUN = { holder: 'test', every: 1, recordLimit: 100 };
const RESULT = { x: [1], iterations: 3, converged: true, reason: 'gradient-tolerance' };

async function setup(name: string): Promise<{ h: Harness; store: JobStore; meta: JobMeta }> {
  h = await harness(redis.url, name);
  const store = new JobStore(h.raw, h.keys, TTL);
  const { job } = await h.service.submit(longGd(50));
  return { h, store, meta: (await store.readMeta(job.id))! };
}

async function collect(service: JobService, id: string, ms: number): Promise<JobEvent[]> {
  const events: JobEvent[] = [];
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), ms);
  for await (const event of service.events(id, OWNER, undefined, abort.signal)) events.push(event);
  clearTimeout(timer);
  return events;
}

it('lists a job under exactly its state at every step, in one script per change', async () => {
  const { h, store, meta } = await setup('index');
  const listedAs = async () => {
    const states = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
    const found = [];
    for (const s of states) {
      if ((await h.raw.zscore(h.keys.owner(OWNER).byState[s], meta.id)) !== null) found.push(s);
      if ((await h.raw.zscore(h.keys.byState[s], meta.id)) !== null) found.push(`global ${s}`);
    }
    return found;
  };
  expect(await listedAs()).toEqual(['queued', 'global queued']);
  await store.start(meta, 't1', 1, Date.now(), RUN);
  expect(await listedAs()).toEqual(['running', 'global running']);
  expect(await store.requeue(meta, 't1', true)).toBe(true);
  expect(await listedAs()).toEqual(['queued', 'global queued']);
  await store.start(meta, 't2', 2, Date.now(), RUN);
  expect(await store.finish(meta, 't2', { state: 'succeeded', result: RESULT as never }, Date.now())).toBe(
    true,
  );
  expect(await listedAs()).toEqual(['succeeded', 'global succeeded']);
  expect((await h.service.stats()).byState).toMatchObject({ queued: 0, running: 0, succeeded: 1 });
});

it('drops the result of an attempt that lost the job, whichever order the two attempts run in', async () => {
  const { h, store, meta } = await setup('lost-result');
  // attempt 1 stores its result, then attempt 2 takes the job over before attempt 1's FINISH
  await store.start(meta, 'one', 1, Date.now(), RUN);
  expect(
    await store.writer.seal(meta.id, {
      token: 'one',
      ttl: TTL,
      result: JSON.stringify(RESULT),
      progress: '',
    }),
  ).toBe(1);
  expect(await h.raw.exists(store.data(meta.id).result)).toBe(1);
  const second = await store.start(meta, 'two', 2, Date.now(), RUN);
  expect(second.outcome).toBe('started');
  expect(await h.raw.exists(store.data(meta.id).result)).toBe(0);
  // attempt 1 finishing now changes nothing: neither its data (SEAL) nor the state (FINISH)
  expect(await store.finish(meta, 'one', { state: 'succeeded', result: RESULT as never }, Date.now())).toBe(
    false,
  );
  expect((await h.service.get(meta.id, OWNER))!.state).toBe('running');
  expect(await h.raw.exists(store.data(meta.id).result)).toBe(0);
  // attempt 2 ends it
  const mine = { ...RESULT, iterations: 7 };
  expect(await store.finish(meta, 'two', { state: 'succeeded', result: mine as never }, Date.now())).toBe(
    true,
  );
  const view = (await h.service.get(meta.id, OWNER))!;
  expect(view.state).toBe('succeeded');
  expect(view.result!.iterations).toBe(7);
});

it('closes a job whose finisher died between FINISH and CLOSE when BullMQ hands it out again', async () => {
  const { h, store, meta } = await setup('close-repair');
  const token = 'dies-after-finish';
  await store.start(meta, token, 1, Date.now(), RUN);
  // the finisher's first two steps, then it "dies": no CLOSE, so no done event yet
  await store.writer.seal(meta.id, { token, ttl: TTL, result: JSON.stringify(RESULT), progress: '' });
  await store.writer.finish(meta, {
    now: Date.now(),
    ttl: TTL,
    token,
    endState: 'succeeded',
    errorJson: '',
    bucket: '',
    seconds: '',
  });
  expect((await h.service.get(meta.id, OWNER))!.state).toBe('succeeded');
  const before = await collect(h.service, meta.id, 300);
  expect(before.some((e) => e.type === 'done')).toBe(false);
  // the BullMQ job is still waiting (nothing took it through BullMQ): a worker gets it, finds the job
  // finished, and closes it
  await h.startWorkers();
  const after = await collect(h.service, meta.id, 10_000);
  const done = after.filter((e) => e.type === 'done');
  expect(done).toHaveLength(1);
  expect(done[0].data).toMatchObject({ id: meta.id, state: 'succeeded', result: { iterations: 3 } });
  // CLOSE runs once: the problem blob is gone, a second close changes nothing
  expect(await h.raw.exists(store.data(meta.id).problem)).toBe(0);
  expect(await store.closeFinished(meta.id)).toBe(false);
  expect(
    (await h.raw.xrange(store.data(meta.id).events, '-', '+')).filter(([, f]) => f[1] === 'done'),
  ).toHaveLength(1);
});

it('ends a job cancelled while its worker was away cancelled when the next worker takes it', async () => {
  const { h, store, meta } = await setup('cancel-while-away');
  await store.start(meta, 'gone', 1, Date.now(), RUN);
  // a cancel for the running job raises the flag; its worker dies before it reads it
  expect(await h.service.cancel(meta.id, OWNER)).toMatchObject({ state: 'running' });
  expect(await store.stalled(meta.id, 1)).toBe(true);
  expect((await h.service.get(meta.id, OWNER))!.state).toBe('queued');
  const next = await store.start({ ...meta, state: 'queued' }, 'next', 2, Date.now(), RUN);
  expect(next.outcome).toBe('cancel');
  // the BullMQ job is still there for a real worker: it takes it, and ends it cancelled without solving
  await h.startWorkers();
  const view = await h.waitForState(meta.id, ['cancelled']);
  expect(view.error).toMatchObject({ code: 'CANCELLED' });
  expect(view.iterates.recorded).toBe(0);
});
