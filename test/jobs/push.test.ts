/**
 * Push instead of polling (wakeups.ts): event streams and running solves learn of news through one
 * subscriber per process, woken by the scripts' SPUBLISH. Each test turns the fallback polls off (an hour)
 * where it checks a push path, so that only the path under test can deliver within the test's time.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobEvent, JobService } from '../../src/jobs/index.js';
import { defineScripts } from '../../src/jobs/scripts.js';
import { JobStore } from '../../src/jobs/store.js';
import { Wakeups } from '../../src/jobs/wakeups.js';
import { redisForFile, uniquePrefix } from '../helpers/redis.js';
import { type Harness, harness, longGd, OWNER, TTL, waitFor } from './harness.js';

const redis = redisForFile();
const HOUR = 3_600_000;
let h: Harness | undefined;
const closers: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await h?.close();
  h = undefined;
});

async function collectEvents(service: JobService, id: string, lastEventId?: string): Promise<JobEvent[]> {
  const events: JobEvent[] = [];
  for await (const event of service.events(id, OWNER, lastEventId, new AbortController().signal)) {
    events.push(event);
  }
  return events;
}

/** The clients connected under `name` (CLIENT LIST). */
async function clientsNamed(raw: Redis, name: string): Promise<string[]> {
  const list = (await raw.client('LIST')) as string;
  return list.split('\n').filter((line) => line.includes(` name=${name} `));
}

describe('event streams', () => {
  it('delivers every event of a running job by push, with the fallback poll an hour away', async () => {
    h = await harness(redis.url, 'push-sse', { service: { eventsPollMs: HOUR } });
    const { job } = await h.service.submit(longGd(0.8));
    const reading = collectEvents(h.service, job.id);
    // the stream has read the queued event and waits; only a push can bring the rest
    await waitFor(
      async () => (await h!.raw.pubsub('SHARDNUMSUB', h!.keys.data(job.id).events))[1] === 1,
      5000,
    );
    await h.startWorkers();
    const events = await reading;
    expect(events[0].data).toEqual({ state: 'queued' });
    expect(events[1].data).toEqual({ state: 'running', attempt: 1 });
    expect(events.filter((e) => e.type === 'progress').length).toBeGreaterThan(2);
    expect(events.at(-1)!.type).toBe('done');
    expect((events.at(-1)!.data as { state: string }).state).toBe('succeeded');
    // Last-Event-ID resume still reads the stream: after the running event, everything that followed it
    const resumed = await collectEvents(h.service, job.id, events[1].id);
    expect(resumed.map((e) => e.id)).toEqual(events.slice(2).map((e) => e.id));
  });

  it("pushes a queued job's cancel to its open stream", async () => {
    h = await harness(redis.url, 'push-cancel-queued', { service: { eventsPollMs: HOUR } });
    const { job } = await h.service.submit(longGd(5));
    const reading = collectEvents(h.service, job.id);
    await waitFor(
      async () => (await h!.raw.pubsub('SHARDNUMSUB', h!.keys.data(job.id).events))[1] === 1,
      5000,
    );
    await h.service.cancel(job.id, OWNER);
    const events = await reading;
    expect(events.map((e) => [e.type, (e.data as { state: string }).state])).toEqual([
      ['state', 'queued'],
      ['state', 'cancelled'],
      ['done', 'cancelled'],
    ]);
  });

  it('still delivers an event whose publish was missed, by the slow fallback poll', async () => {
    h = await harness(redis.url, 'push-missed', { service: { eventsPollMs: 200 } });
    const { job } = await h.service.submit(longGd(5));
    const events: JobEvent[] = [];
    const controller = new AbortController();
    const k = h.keys.data(job.id);
    for await (const event of h.service.events(job.id, OWNER, undefined, controller.signal)) {
      events.push(event);
      // written behind the scripts' back: nothing is published, so only the poll can find it
      if (events.length === 1) await h.raw.xadd(k.events, '*', 'type', 'done', 'data', '{"missed":true}');
    }
    expect(events.map((e) => e.type)).toEqual(['state', 'done']);
    expect(events[1].data).toEqual({ missed: true });
  });

  it('uses one subscriber connection per process and one shard channel per followed job', async () => {
    h = await harness(redis.url, 'push-one-conn', { service: { eventsPollMs: HOUR } });
    await waitFor(async () => (await clientsNamed(h!.raw, 'levinv-api-wakeups')).length === 1, 5000);
    const a = (await h.service.submit(longGd(5))).job.id;
    const b = (await h.service.submit(longGd(5))).job.id;
    const controller = new AbortController();
    const open = [a, a, b].map(async (id) => {
      for await (const _ of h!.service.events(id, OWNER, undefined, controller.signal)) {
        // read until aborted
      }
    });
    const channels = [a, b].map((id) => h!.keys.data(id).events);
    await waitFor(async () => (await h!.raw.pubsub('SHARDCHANNELS', `${h!.prefix}:*`)).length === 2, 5000);
    expect((await h.raw.pubsub('SHARDCHANNELS', `${h.prefix}:*`)).sort()).toEqual([...channels].sort());
    // three streams, still the one connection this service opened when it was created
    expect((await clientsNamed(h.raw, 'levinv-api-wakeups')).length).toBe(1);
    controller.abort();
    await Promise.all(open);
    await waitFor(async () => (await h!.raw.pubsub('SHARDCHANNELS', `${h!.prefix}:*`)).length === 0, 5000);
  });
});

describe('cancel of a running job', () => {
  it('reaches a solve that writes no progress, by push', async () => {
    h = await harness(redis.url, 'push-cancel-running');
    // no progress write until the solve ends, no poll: the publish is the only way the cancel can arrive
    await h.startWorkers({ flushMs: HOUR, cancelPollMs: HOUR });
    const { job } = await h.service.submit(longGd(60));
    await h.waitForState(job.id, ['running']);
    const cancelChannel = h.keys.data(job.id).cancel;
    await waitFor(async () => (await h!.raw.pubsub('SHARDNUMSUB', cancelChannel))[1] === 1, 5000);
    // past the start-point search, into the iterations (a cancel during the search ends without a result)
    await new Promise((r) => setTimeout(r, 500));
    expect((await h.service.get(job.id, OWNER))!.iterates.recorded).toBe(0);
    await h.service.cancel(job.id, OWNER);
    // far less than the 60 s it would otherwise run
    const done = await h.waitForState(job.id, ['succeeded', 'failed', 'cancelled'], 15_000);
    expect(done.state).toBe('cancelled');
    expect(done.result!.reason).toBe('aborted');
    expect(done.result!.iterations).toBeGreaterThan(0);
    // the worker stopped following the job's channel when the job ended
    await waitFor(async () => (await h!.raw.pubsub('SHARDNUMSUB', cancelChannel))[1] === 0, 5000);
  });

  it('reaches a solve through the reply of its progress write, without push or poll', async () => {
    h = await harness(redis.url, 'reply-cancel');
    await h.startWorkers({ cancelPush: false, cancelPollMs: HOUR });
    const { job } = await h.service.submit(longGd(60));
    await waitFor(async () => ((await h!.service.get(job.id, OWNER))?.iterates.recorded ?? 0) > 0, 10_000);
    expect((await h.raw.pubsub('SHARDNUMSUB', h.keys.data(job.id).cancel))[1]).toBe(0);
    await h.service.cancel(job.id, OWNER);
    const done = await h.waitForState(job.id, ['succeeded', 'failed', 'cancelled'], 15_000);
    expect(done.state).toBe('cancelled');
    expect(done.result!.reason).toBe('aborted');
  });

  it('PROGRESS returns the cancel flag with the recorded count', async () => {
    h = await harness(redis.url, 'reply-flag');
    defineScripts(h.raw);
    const store = new JobStore(h.raw, h.keys, TTL);
    const { job } = await h.service.submit(longGd(60));
    const meta = (await store.readMeta(job.id))!;
    const token = 'attempt-token';
    await store.start(meta, token, 1, Date.now(), { holder: 'test', every: 1, recordLimit: 100 });
    const batch = (iteration: number) => ({
      progress: { iteration, loss: 1, gradNorm: 1 },
      checkpoint: null,
      checkpointRecord: '',
      truncated: false,
      records: [`[${iteration},1,1,0,0]`],
    });
    expect(await store.progress(job.id, token, batch(0))).toEqual({ recorded: 1, cancelRequested: false });
    expect(await store.cancel({ ...meta, state: 'running' }, 1, Date.now())).toBe('flagged');
    expect(await store.progress(job.id, token, batch(1))).toEqual({ recorded: 2, cancelRequested: true });
    // another attempt's token: lost, whatever the flag
    expect(await store.progress(job.id, 'other', batch(2))).toEqual({ recorded: -1, cancelRequested: false });
  });
});

describe('Wakeups', () => {
  it('wakes every follower of a channel, resubscribes and wakes them all after a reconnect', async () => {
    const name = `wake-${uniquePrefix('w')}`;
    const wakeups = new Wakeups(redis.url, name, pino({ level: 'silent' }));
    const raw = new Redis(redis.url);
    closers.push(
      () => raw.quit(),
      () => wakeups.close(),
    );
    const channel = `${uniquePrefix('wake')}:job:{x}:events`;
    const counts = [0, 0];
    const first = wakeups.follow(channel, () => counts[0]++);
    const second = wakeups.follow(channel, () => counts[1]++);
    expect(wakeups.channels).toBe(1);
    await Promise.all([first.ready, second.ready]);
    // subscribed once for the two (if the subscriber connected only now, it woke both when it did)
    await waitFor(async () => (await raw.pubsub('SHARDNUMSUB', channel))[1] === 1, 5000);
    counts.fill(0);
    expect(await raw.spublish(channel, 'x')).toBe(1);
    await waitFor(() => counts[0] === 1 && counts[1] === 1, 5000);
    second.stop();
    second.stop();
    expect(await raw.spublish(channel, 'x')).toBe(1);
    await waitFor(() => counts[0] === 2, 5000);
    expect(counts[1]).toBe(1);

    // the subscriber's connection dies: it comes back subscribed, and the follower is woken meanwhile
    const [line] = await clientsNamed(raw, name);
    const clientId = /\bid=(\d+)/.exec(line)![1];
    await raw.client('KILL', 'ID', clientId);
    await waitFor(() => counts[0] >= 3, 10_000);
    await waitFor(async () => (await raw.pubsub('SHARDNUMSUB', channel))[1] === 1, 10_000);
    const woken = counts[0];
    await raw.spublish(channel, 'x');
    await waitFor(() => counts[0] === woken + 1, 5000);

    first.stop();
    expect(wakeups.channels).toBe(0);
    await waitFor(async () => (await raw.pubsub('SHARDNUMSUB', channel))[1] === 0, 5000);
  });
});
