/**
 * Fewer Redis round trips per job (issue #8, small jobs): DATA_START hands a small problem blob back in its
 * reply, the last iterates go with the result (SEAL_BATCH), FINISH counts the solve in the histogram, a
 * short job is never followed by push, and a small submission writes its data in one script call. Each
 * step keeps what the longer way guaranteed: tokens, idempotent batches, the event stream's shape.
 */
import { afterEach, expect, it } from 'vitest';
import { createClient } from '../../src/jobs/redis.js';
import { defineScripts } from '../../src/jobs/scripts.js';
import { INLINE_BLOB_BYTES, type JobMeta, JobStore } from '../../src/jobs/store.js';
import { redisForFile } from '../helpers/redis.js';
import { generated, type Harness, harness, longGd, OWNER, TTL, waitFor } from './harness.js';

const redis = redisForFile();
let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

const RUN = { holder: 'test', every: 1, recordLimit: 100 };
const RESULT = { x: [1], iterations: 3, converged: true, reason: 'gradient-tolerance' };
const progressOf = (iteration: number) => ({ iteration, loss: 1 / (iteration + 1), gradNorm: 0.5 });
const record = (iteration: number): string => JSON.stringify([iteration, 1 / (iteration + 1), 0.5]);
const checkpointAt = (iteration: number) => ({ iteration, x: [iteration] }) as never;

async function setup(name: string, input = longGd(50)): Promise<{ store: JobStore; meta: JobMeta }> {
  h = await harness(redis.url, name);
  defineScripts(h.raw);
  const store = new JobStore(h.raw, h.keys, TTL);
  const { job } = await h.service.submit(input);
  return { store, meta: (await store.readMeta(job.id))! };
}

/**
 * The commands clients send while `run` runs (MONITOR; a script's own calls left out), by name; our
 * scripts by their name (levinv...), BullMQ's all as `bullmq`.
 */
/** Redis's sdscatrepr, as MONITOR writes arguments (ioredis's parser unescapes only the quotes). */
const REPR: Record<string, string> = {
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\x07': '\\a',
  '\x08': '\\b',
};
function monitorRepr(text: string): string {
  return text.replace(/\\|[^ -~]/g, (c) => REPR[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

async function commandsDuring(run: () => Promise<void>): Promise<Record<string, number>> {
  defineScripts(h!.raw);
  const names = new Map<string, string>();
  const defined = (h!.raw as unknown as { scriptsSet: Record<string, { sha: string; lua: string }> })
    .scriptsSet;
  for (const [name, script] of Object.entries(defined)) names.set(script.sha, name);
  // an EVAL's body as MONITOR shows it (escaped as Redis's sdscatrepr does; ioredis unescapes the quotes)
  const bodies = new Map<string, string>();
  for (const [name, script] of Object.entries(defined)) bodies.set(monitorRepr(script.lua), name);
  const monitor = await h!.raw.monitor();
  monitor.on('error', () => undefined);
  const calls: Record<string, number> = {};
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source === 'lua') return;
    let name = String(args[0]).toLowerCase();
    if (name === 'evalsha') name = names.get(String(args[1])) ?? 'bullmq';
    // ioredis sends a script's body (EVAL) the first time it runs on a connection, EVALSHA after that:
    // one round trip either way (a job that takes the PROGRESS + SEAL path after warm-ups that all took
    // SEAL_BATCH sends SEAL as EVAL)
    if (name === 'eval') name = bodies.get(String(args[1])) ?? 'eval';
    calls[name] = (calls[name] ?? 0) + 1;
  });
  try {
    await run();
    // the last replies' commands are logged before their replies go out; a moment for the log to arrive
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    monitor.disconnect();
  }
  return calls;
}

it('hands a small problem blob back from DATA_START, the same bytes the submission stored', async () => {
  const { store, meta } = await setup('inline-blob');
  const stored = await h!.raw.getBuffer(h!.keys.data(meta.id).problem);
  const started = await store.start(meta, 'tok', 1, Date.now(), RUN);
  expect(started.outcome).toBe('started');
  expect(started.blob).toBeInstanceOf(Buffer);
  expect(started.blob!.equals(stored!)).toBe(true);
  expect(started.checkpoint).toBe('');
  expect(started.recorded).toBe(0);
});

it('leaves a blob over INLINE_BLOB_BYTES to a GET of its own', async () => {
  // 20000 x 8 float64s: 1.28 MB of matrix alone
  const { store, meta } = await setup('big-blob', generated(20_000, 8, 3));
  expect(await h!.raw.strlen(h!.keys.data(meta.id).problem)).toBeGreaterThan(INLINE_BLOB_BYTES);
  const started = await store.start(meta, 'tok', 1, Date.now(), RUN);
  expect(started.outcome).toBe('started');
  expect(started.blob).toBeUndefined();
});

it('stores the last batch with the result in one call, and the progress event as PROGRESS would', async () => {
  const { store, meta } = await setup('seal-batch');
  await store.start(meta, 'tok', 1, Date.now(), RUN);
  await store.progress(meta.id, 'tok', {
    progress: progressOf(1),
    checkpoint: checkpointAt(1),
    checkpointRecord: record(1),
    truncated: false,
    records: [record(0), record(1)],
  });
  const batch = {
    progress: progressOf(3),
    checkpoint: checkpointAt(3),
    checkpointRecord: record(3),
    truncated: false,
    // iterate 1 again (a write resent after a reconnect): skipped
    records: [record(1), record(2), record(3)],
  };
  // another attempt's token: nothing is written, and the job is not finished
  expect(
    await store.finish(meta, 'other', { state: 'succeeded', result: RESULT as never, batch }, Date.now()),
  ).toBe(false);
  expect(await h!.raw.llen(h!.keys.data(meta.id).iterates)).toBe(2);

  expect(
    await store.finish(
      meta,
      'tok',
      { state: 'succeeded', result: RESULT as never, progress: progressOf(3), batch, recorded: 2 },
      Date.now(),
    ),
  ).toBe(true);
  const view = (await h!.service.get(meta.id, OWNER))!;
  expect(view.state).toBe('succeeded');
  expect(view.iterates.recorded).toBe(4);
  expect(view.progress).toEqual(progressOf(3));
  const { items } = (await h!.service.iterates(meta.id, OWNER, 0, 100))!;
  expect(items.map((it) => it.iteration)).toEqual([0, 1, 2, 3]);
  const events = await h!.raw.xrange(h!.keys.data(meta.id).events, '-', '+');
  const kinds = events.map(([, fields]) => `${fields[1]}:${JSON.parse(fields[3]).state ?? 'p'}`);
  expect(kinds).toEqual([
    'state:queued',
    'state:running',
    'progress:p',
    'progress:p',
    'state:succeeded',
    'done:succeeded',
  ]);
  // the done event's view counts the iterates SEAL_BATCH stored
  const done = JSON.parse(events.at(-1)![1][3]);
  expect(done.iterates.recorded).toBe(4);
});

it('counts a solve in the histogram in FINISH, once, and only for the attempt that finished the job', async () => {
  const { store, meta } = await setup('timed-finish');
  await store.start(meta, 'tok', 1, Date.now(), RUN);
  const end = { state: 'succeeded' as const, result: RESULT as never, seconds: 0.02 };
  expect(await store.finish(meta, 'wrong', end, Date.now())).toBe(false);
  expect((await h!.service.stats()).solveSeconds.count).toBe(0);
  expect(await store.finish(meta, 'tok', end, Date.now())).toBe(true);
  // finished already: no second count
  expect(await store.finish(meta, 'tok', end, Date.now())).toBe(false);
  const { solveSeconds } = await h!.service.stats();
  expect(solveSeconds.count).toBe(1);
  expect(solveSeconds.sum).toBeCloseTo(0.02, 10);
  // 0.02 s falls in the 0.05 bucket: cumulative counts are 0 up to 0.01, then 1
  expect(solveSeconds.counts.slice(0, 2)).toEqual([0, 1]);
});

it('counts a script sent as EVAL (its first run on a connection) under its name, as one call', async () => {
  h = await harness(redis.url, 'eval-count');
  const { job } = await h.service.submit(generated(20, 3, 1));
  const fresh = createClient(redis.url, {}, 'eval-count');
  defineScripts(fresh);
  const store = new JobStore(fresh, h.keys, TTL);
  try {
    const calls = await commandsDuring(async () => {
      expect((await store.readJob(job.id, true))?.meta.id).toBe(job.id);
    });
    expect(calls.levinvRead).toBe(1);
    expect(calls.eval ?? 0).toBe(0);
  } finally {
    fresh.disconnect();
  }
});

it('runs a small job with no GET, no cancel read, no subscription and no separate histogram write', async () => {
  h = await harness(redis.url, 'small-job');
  // a job that runs longer than this is followed by push (tested below); this one must not run that long,
  // even on a slow machine
  await h.startWorkers({ cancelFollowAfterMs: 5000 });
  // warm up (scripts loaded, connections open, the solver compiled)
  for (let seed = 10; seed < 13; seed++) {
    const first = (await h.service.submit(generated(200, 8, seed))).job;
    const done = async () => (await h!.raw.hget(h!.keys.data(first.id).run, 'closed')) !== null;
    await waitFor(done, 20_000);
  }
  let id = '';
  const calls = await commandsDuring(async () => {
    id = (await h!.service.submit(generated(200, 8, 2))).job.id;
    const closed = async () => (await h!.raw.hget(h!.keys.data(id).run, 'closed')) !== null;
    await waitFor(closed, 20_000);
  });
  const job = { id };
  // the problem came back with DATA_START; the job was over before it would be followed by push
  expect(calls.get ?? 0).toBe(0);
  expect(calls.exists ?? 0).toBe(0);
  expect(calls.ssubscribe ?? 0).toBe(0);
  expect(calls.hincrbyfloat ?? 0).toBe(0);
  // the job's data is read by scripts (READ: one call, no pipeline): the worker's read before START is an
  // HGETALL and a READ; SEAL_BATCH returns the iterates count for the done event
  expect(calls.hgetall).toBe(1);
  expect(calls.hmget ?? 0).toBe(0);
  expect(calls.llen ?? 0).toBe(0);
  // the submission: its data in one script (CREATE, the blob included: no MULTI, no SET), ADMIT, BullMQ's
  // add, CONFIRM, COMMIT; the worker: READ, START, DATA_START, SEAL_BATCH (PROGRESS and SEAL instead when
  // the thread's last batch was written before its result came), FINISH (timed), CLOSE
  expect(calls.multi ?? 0).toBe(0);
  expect(calls.eval ?? 0).toBe(0);
  expect(calls.set ?? 0).toBe(0);
  const once = ['levinvCreate', 'levinvAdmit', 'levinvConfirm', 'levinvCommit', 'levinvRead'];
  for (const name of [...once, 'levinvStart', 'levinvDataStart', 'levinvFinish', 'levinvClose']) {
    expect([name, calls[name]]).toEqual([name, 1]);
  }
  const sealed = calls.levinvSealBatch ?? 0;
  expect([sealed, calls.levinvProgress ?? 0, calls.levinvSeal ?? 0]).toEqual(
    sealed === 1 ? [1, 0, 0] : [0, 1, 1],
  );
  const view = (await h.service.get(job.id, OWNER))!;
  expect(view.state).toBe('succeeded');
  expect(view.iterates.recorded).toBe(view.result!.iterations + 1);
  // the three warm-up jobs and this one
  expect((await h.service.stats()).solveSeconds.count).toBe(4);
  const events = await h.raw.xrange(h.keys.data(job.id).events, '-', '+');
  const kinds = events.map(([, fields]) => fields[1]);
  expect(kinds[0]).toBe('state');
  expect(kinds[1]).toBe('state');
  expect(kinds.slice(2, -2).every((k) => k === 'progress')).toBe(true);
  expect(kinds.slice(2, -2).length).toBeGreaterThan(0);
  expect(kinds.slice(-2)).toEqual(['state', 'done']);
  // the done event carries the finished job, the result spliced in as stored minus the n-long cell
  // (signs, kept for signs.npy): what GET answers
  const { signs, ...shown } = view.result!;
  expect(signs).toHaveLength(view.n);
  expect(JSON.parse(events.at(-1)![1][3])).toEqual({ ...view, result: shown });
});

it('still ends a job cancelled in its first moments, before it is followed by push', async () => {
  h = await harness(redis.url, 'early-cancel');
  // no progress writes and no poll: only the read made when the push subscription starts can see the flag
  await h.startWorkers({ flushMs: 3_600_000, cancelPollMs: 3_600_000, cancelFollowAfterMs: 300 });
  const { job } = await h.service.submit(longGd(60));
  await waitFor(
    async () => (await h!.raw.hget(h!.keys.state(job.id), 'state')) === 'running',
    20_000,
    () => 'never running',
  );
  const asked = Date.now();
  expect((await h.service.cancel(job.id, OWNER))!.state).toBe('running');
  const done = await h.waitForState(job.id, ['succeeded', 'failed', 'cancelled'], 20_000);
  expect(done.state).toBe('cancelled');
  // far less than the 60 s it would otherwise run
  expect(Date.parse(done.finishedAt!) - asked).toBeLessThan(10_000);
});
