/** The job layer end to end on a real Redis: submit -> worker -> result, and every JobService operation. */
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  IdempotencyConflictError,
  InvalidCursorError,
  type JobEvent,
  type JobService,
} from '../../src/jobs/index.js';
import { decodeProblem, toAlignedArrayBuffer } from '../../src/jobs/problem-blob.js';
import { CONTROL_GRACE_MS } from '../../src/jobs/scripts.js';
import { DATA_GRACE_SECONDS } from '../../src/jobs/store.js';
import { type Problem, solve } from '../../src/solver/index.js';
import { redisForFile } from '../helpers/redis.js';
import { loadVector, relErr, vectorProblem } from '../helpers/testdata.js';
import { generated, type Harness, harness, longGd, OWNER, scanKeys, TTL, waitFor } from './harness.js';

const redis = redisForFile();
let h: Harness;

afterEach(async () => {
  await h?.close();
});

/** Reads a job's events until its stream ends (the done event) or `max` events. */
async function collectEvents(service: JobService, id: string, lastEventId?: string, max = 10_000) {
  const events: JobEvent[] = [];
  const controller = new AbortController();
  for await (const event of service.events(id, OWNER, lastEventId, controller.signal)) {
    events.push(event);
    if (events.length >= max) controller.abort();
  }
  return events;
}

describe('solving', () => {
  it('recovers xStar of a generated 200 x 8 problem, with iterates, events and stats', async () => {
    h = await harness(redis.url, 'solve');
    await h.startWorkers();
    const input = generated(200, 8, 7);
    const { job, created } = await h.service.submit(input);
    expect(created).toBe(true);
    expect(job).toMatchObject({
      state: 'queued',
      done: false,
      method: 'newton',
      n: 200,
      d: 8,
      progress: null,
    });

    const done = await h.waitForState(job.id, ['succeeded', 'failed', 'cancelled']);
    expect(done.state).toBe('succeeded');
    expect(done.done).toBe(true);
    expect(done.error).toBeUndefined();
    const result = done.result!;
    expect(result.converged).toBe(true);
    expect(relErr(result.x, input.xStar!)).toBeLessThan(1e-8);
    expect(result.relError).toBeLessThan(1e-8);
    expect(result).not.toHaveProperty('iterates');
    expect(done.progress).toEqual({
      iteration: result.iterations,
      loss: result.loss,
      gradNorm: result.gradNorm,
    });
    expect(done.startedAt).not.toBeNull();
    expect(Date.parse(done.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(done.startedAt!));

    // every iterate was kept (record.every 1), with x, from 0 to the last
    const page = await h.service.iterates(job.id, OWNER, 0, 1000);
    expect(page!.items.map((it) => it.iteration)).toEqual(
      Array.from({ length: result.iterations + 1 }, (_, i) => i),
    );
    expect(page!.nextOffset).toBe(result.iterations + 1);
    expect(page!.items.at(-1)).toMatchObject({ loss: result.loss, gradNorm: result.gradNorm, x: result.x });
    expect(await h.service.iterates(job.id, OWNER, page!.nextOffset, 10)).toEqual({
      items: [],
      nextOffset: page!.nextOffset,
    });

    // events: queued, running, progress..., succeeded, done (the finished job); ids increase
    const events = await collectEvents(h.service, job.id);
    const types = events.map((e) =>
      e.type === 'state' ? `state:${(e.data as { state: string }).state}` : e.type,
    );
    expect(types[0]).toBe('state:queued');
    expect(types[1]).toBe('state:running');
    expect(types.slice(-2)).toEqual(['state:succeeded', 'done']);
    expect(types.slice(2, -2).every((t) => t === 'progress')).toBe(true);
    expect(types.length).toBeGreaterThan(4);
    // the done event shows the result as the API does: without the n-long cell (kept for signs.npy)
    const { signs, ...shown } = done.result!;
    expect(signs).toHaveLength(done.n);
    expect(events.at(-1)!.data).toEqual({ ...done, result: shown });
    const streamIds = events.map((e) => e.id.split('-').map(Number));
    for (let i = 1; i < streamIds.length; i++) {
      const [a, b] = [streamIds[i - 1], streamIds[i]];
      expect(b[0] > a[0] || (b[0] === a[0] && b[1] > a[1])).toBe(true);
    }
    // resuming after an id gives exactly the later events
    const resumed = await collectEvents(h.service, job.id, events[1].id);
    expect(resumed).toEqual(events.slice(2));
    expect(await collectEvents(h.service, job.id, events.at(-1)!.id)).toEqual([]);

    const stats = await h.service.stats();
    expect(stats.byState).toEqual({ queued: 0, running: 0, succeeded: 1, failed: 0, cancelled: 0 });
    expect(stats.queueDepth).toBe(0);
    expect(stats.solveSeconds.count).toBe(1);
    expect(stats.solveSeconds.counts.at(-1)).toBe(1);
    expect(stats.solveSeconds.bounds.at(-1)).toBe(Number.POSITIVE_INFINITY);
    expect(stats.solveSeconds.sum).toBeGreaterThan(0);
  });

  it('recovers xStar of the shared test vector medium.json', async () => {
    h = await harness(redis.url, 'medium');
    await h.startWorkers();
    const vector = loadVector('medium');
    const { job } = await h.service.submit({
      owner: OWNER,
      problem: vectorProblem(vector),
      options: {},
      xStar: Float64Array.from(vector.xStar),
    });
    const done = await h.waitForState(job.id, ['succeeded', 'failed', 'cancelled']);
    expect(done.state).toBe('succeeded');
    expect(relErr(done.result!.x, vector.xStar)).toBeLessThan(1e-8);
    expect(relErr(done.result!.x, vector.solution.x)).toBeLessThan(1e-8);
  });

  it('solves on SOLVER_THREADS threads in the solve thread (timings.threads), with the one-thread x', async () => {
    h = await harness(redis.url, 'threads');
    await h.startWorkers({ solverThreads: 2 });
    const { job } = await h.service.submit(generated(6000, 10, 4));
    const done = await h.waitForState(job.id, ['succeeded', 'failed', 'cancelled']);
    expect(done.state).toBe('succeeded');
    expect(done.result!.timings.threads).toBe(2);
    const input = generated(6000, 10, 4);
    const alone = solve(input.problem, input.options);
    expect(alone.timings.threads).toBe(1);
    expect(relErr(done.result!.x, alone.x)).toBeLessThan(1e-12);
  });

  it('fails a problem the solver rejects at once, without a retry', async () => {
    h = await harness(redis.url, 'reject');
    await h.startWorkers();
    // column 2 repeats column 1: A has rank 1
    const n = 20;
    const A = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) A[2 * i] = A[2 * i + 1] = 1 + i;
    const problem: Problem = {
      n,
      d: 2,
      A,
      b: new Float64Array(n).fill(-1),
      sigma: new Float64Array(n).fill(0.1),
    };
    const { job } = await h.service.submit({ owner: OWNER, problem, options: {} });
    const done = await h.waitForState(job.id, ['succeeded', 'failed', 'cancelled']);
    expect(done.state).toBe('failed');
    expect(done.done).toBe(true);
    expect(done.error?.code).toBe('RANK_DEFICIENT');
    expect(done.error?.message).toMatch(/rank/i);
    expect(done.result).toBeUndefined();
    await waitFor(async () => (await h.queue.getJobState(job.id)) === 'failed', 5000);
    const bull = await h.queue.getJob(job.id);
    expect(bull!.attemptsMade).toBe(1);
    expect(bull!.attemptsStarted).toBe(1);
    expect(bull!.failedReason).toMatch(/^RANK_DEFICIENT/);
  });
});

describe('failures', () => {
  it('retries an internal error once, then fails the job', async () => {
    h = await harness(redis.url, 'internal');
    const { job } = await h.service.submit(generated(20, 2, 1));
    // a damaged blob: the thread cannot decode it (not the solver rejecting the problem, so retried)
    await h.raw.set(h.keys.data(job.id).problem, Buffer.alloc(24), 'KEEPTTL');
    await h.startWorkers();
    const done = await h.waitForState(job.id, ['succeeded', 'failed', 'cancelled']);
    expect(done.state).toBe('failed');
    expect(done.error).toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/problem blob/) });
    await waitFor(async () => (await h.queue.getJobState(job.id)) === 'failed', 5000);
    expect((await h.queue.getJob(job.id))!.attemptsMade).toBe(2);
    const states = (await collectEvents(h.service, job.id))
      .filter((e) => e.type === 'state')
      .map((e) => (e.data as { state: string }).state);
    expect(states).toEqual(['queued', 'running', 'queued', 'running', 'failed']);
  });
});

describe('while running', () => {
  it('pages iterates while the job runs, honouring options.record', async () => {
    h = await harness(redis.url, 'pages');
    await h.startWorkers();
    const input = longGd(1.5, 25);
    input.options.record = { every: 25, includeX: false, limit: 10_000 };
    const { job } = await h.service.submit(input);

    // read pages while the solve goes on, as a client would
    const seen: number[] = [];
    let offset = 0;
    let pagesWhileRunning = 0;
    for (;;) {
      const state = (await h.service.get(job.id, OWNER))!.state;
      const page = (await h.service.iterates(job.id, OWNER, offset, 7))!;
      expect(page.nextOffset).toBe(offset + page.items.length);
      for (const it of page.items) {
        seen.push(it.iteration);
        expect(it).not.toHaveProperty('x');
      }
      if (state === 'running' && page.items.length > 0) pagesWhileRunning++;
      offset = page.nextOffset;
      if (state !== 'queued' && state !== 'running' && page.items.length === 0) break;
      if (page.items.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(pagesWhileRunning).toBeGreaterThan(1);
    const done = (await h.service.get(job.id, OWNER))!;
    expect(done.state).toBe('succeeded');
    expect(done.result!.reason).toBe('max-seconds');
    // every 25th iterate and the last, each once and in order
    const last = done.result!.iterations;
    const expected = Array.from({ length: Math.floor(last / 25) + 1 }, (_, i) => 25 * i);
    if (expected.at(-1) !== last) expected.push(last);
    expect(seen).toEqual(expected);
  });

  it('cancels a running job within an iteration and keeps its iterates', async () => {
    h = await harness(redis.url, 'cancel-running');
    await h.startWorkers();
    const { job } = await h.service.submit(longGd(60));
    await waitFor(
      async () => ((await h.service.iterates(job.id, OWNER, 0, 1))?.items.length ?? 0) > 0,
      10_000,
    );

    const asked = Date.now();
    const view = await h.service.cancel(job.id, OWNER);
    expect(['running', 'cancelled']).toContain(view!.state);
    const done = await h.waitForState(job.id, ['succeeded', 'failed', 'cancelled'], 10_000);
    // generous bound: the flag is polled every 150 ms and the solver checks it every iteration (< 1 ms)
    expect(Date.now() - asked).toBeLessThan(5000);
    expect(done.state).toBe('cancelled');
    expect(done.done).toBe(true);
    expect(done.result!.reason).toBe('aborted');
    expect(done.error).toBeUndefined();
    const page = await h.service.iterates(job.id, OWNER, 0, 100_000);
    expect(page!.items.length).toBeGreaterThan(1);
    expect(page!.items.at(-1)!.iteration).toBe(done.result!.iterations);
    const events = await collectEvents(h.service, job.id);
    expect(events.at(-1)!.type).toBe('done');
    // cancelling again changes nothing
    expect((await h.service.cancel(job.id, OWNER))!.state).toBe('cancelled');
    expect(await h.raw.exists(h.keys.data(job.id).cancel)).toBe(0);
  });

  it('streams live events to a waiting reader until done', async () => {
    h = await harness(redis.url, 'live');
    const { job } = await h.service.submit(longGd(0.8));
    const reading = collectEvents(h.service, job.id);
    await new Promise((r) => setTimeout(r, 200));
    await h.startWorkers();
    const events = await reading;
    expect(events[0].data).toEqual({ state: 'queued' });
    expect(events[1].data).toEqual({ state: 'running', attempt: 1 });
    expect(events.filter((e) => e.type === 'progress').length).toBeGreaterThan(2);
    expect(events.at(-1)!.type).toBe('done');
    expect((events.at(-1)!.data as { state: string }).state).toBe('succeeded');
  });

  it('stops a live event stream when its signal aborts', async () => {
    h = await harness(redis.url, 'abort');
    const { job } = await h.service.submit(longGd(1));
    const controller = new AbortController();
    const events: JobEvent[] = [];
    setTimeout(() => controller.abort(), 300);
    const began = Date.now();
    for await (const event of h.service.events(job.id, OWNER, undefined, controller.signal))
      events.push(event);
    expect(events.map((e) => e.type)).toEqual(['state']);
    expect(Date.now() - began).toBeLessThan(3000);
  });
});

describe('queued jobs', () => {
  it('does not leave a job behind when queueing fails and no Idempotency-Key can retry it', async () => {
    h = await harness(redis.url, 'enqueue-fails');
    const add = vi.spyOn(Queue.prototype, 'add').mockRejectedValueOnce(new Error('queue unavailable'));
    try {
      await expect(h.service.submit(generated(40, 3))).rejects.toThrow('queue unavailable');
    } finally {
      add.mockRestore();
    }
    expect((await h.service.list({ owner: OWNER, limit: 10 })).items).toEqual([]);
    expect((await scanKeys(h.raw, `${h.prefix}:job:`)).length).toBe(0);
  });

  it('releases the Idempotency-Key of a failed submission, so its retry makes the job once', async () => {
    h = await harness(redis.url, 'enqueue-retry');
    const input = { ...generated(40, 3), idempotencyKey: 'k-1', fingerprint: 'f-1' };
    const add = vi.spyOn(Queue.prototype, 'add').mockRejectedValueOnce(new Error('queue unavailable'));
    try {
      await expect(h.service.submit(input)).rejects.toThrow('queue unavailable');
    } finally {
      add.mockRestore();
    }
    expect(await h.raw.keys(`${h.keys.control}:idempotency:*`)).toEqual([]);
    const retry = await h.service.submit(input);
    expect(retry.created).toBe(true);
    expect((await h.service.submit(input)).job.id).toBe(retry.job.id);
    await h.startWorkers();
    expect((await h.waitForState(retry.job.id, ['succeeded'])).state).toBe('succeeded');
    expect(await scanKeys(h.raw, `${h.keys.control}:job:`)).toHaveLength(1);
  });

  it('cancels a queued job, which then never runs', async () => {
    h = await harness(redis.url, 'cancel-queued');
    const { job } = await h.service.submit(generated(200, 8, 3));
    const view = await h.service.cancel(job.id, OWNER);
    expect(view).toMatchObject({ state: 'cancelled', done: true, startedAt: null });
    expect(view!.error?.code).toBe('CANCELLED');
    expect(view!.finishedAt).not.toBeNull();

    // a worker now drains the queue: a later job runs, the cancelled one does not
    await h.startWorkers();
    const { job: later } = await h.service.submit(generated(200, 8, 4));
    await h.waitForState(later.id, ['succeeded']);
    const after = await h.service.get(job.id, OWNER);
    expect(after).toEqual(view);
    expect((await h.service.iterates(job.id, OWNER, 0, 10))!.items).toEqual([]);
    expect(await h.raw.exists(h.keys.data(job.id).problem)).toBe(0);
    const events = await collectEvents(h.service, job.id);
    expect(events.map((e) => e.type)).toEqual(['state', 'state', 'done']);
  });

  it('stores the problem as a binary blob and gives BullMQ only the id', async () => {
    h = await harness(redis.url, 'blob');
    const input = generated(200, 8, 5);
    const { job } = await h.service.submit(input);
    const blob = await h.raw.getBuffer(h.keys.data(job.id).problem);
    // header + A + b + sigma + xStar, 8 bytes each
    expect(blob!.length).toBe(8 * (8 + 200 * 8 + 2 * 200 + 8));
    const { problem, xStar } = decodeProblem(toAlignedArrayBuffer(blob!));
    expect(problem.A).toEqual(input.problem.A);
    expect(problem.sigma).toEqual(input.problem.sigma);
    expect(xStar).toEqual(input.xStar);

    const bull = await h.queue.getJob(job.id);
    expect(bull!.data).toEqual({ jobId: job.id });
    // what BullMQ stores of the job, as its own JSON form (no numbers of the problem)
    const stored = bull!.asJSON();
    expect(stored.data).toBe(JSON.stringify({ jobId: job.id }));
    expect(Object.values(stored).join(' ')).not.toMatch(/\d\.\d{6}/);
    expect(bull!.opts.removeOnComplete).toEqual({ age: TTL, count: 1000 });
    expect(bull!.opts.removeOnFail).toEqual({ age: TTL, count: 1000 });
  });

  it('lists newest first with a cursor and a state filter', async () => {
    h = await harness(redis.url, 'list');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await h.service.submit(generated(20, 2, 10 + i))).job.id);
    const newestFirst = [...ids].reverse();

    const first = await h.service.list({ owner: OWNER, limit: 2 });
    expect(first.items.map((j) => j.id)).toEqual(newestFirst.slice(0, 2));
    expect(first.nextCursor).not.toBeNull();
    const second = await h.service.list({ owner: OWNER, limit: 2, cursor: first.nextCursor! });
    expect(second.items.map((j) => j.id)).toEqual(newestFirst.slice(2, 4));
    const third = await h.service.list({ owner: OWNER, limit: 2, cursor: second.nextCursor! });
    expect(third.items.map((j) => j.id)).toEqual(newestFirst.slice(4));
    expect(third.nextCursor).toBeNull();
    expect((await h.service.list({ owner: OWNER, limit: 5 })).nextCursor).toBeNull();

    await h.service.cancel(ids[1], OWNER);
    await h.service.cancel(ids[3], OWNER);
    const cancelled = await h.service.list({ owner: OWNER, state: 'cancelled', limit: 10 });
    expect(cancelled.items.map((j) => j.id)).toEqual([ids[3], ids[1]]);
    expect(cancelled.items.every((j) => j.state === 'cancelled')).toBe(true);
    const queued = await h.service.list({ owner: OWNER, state: 'queued', limit: 2 });
    expect(queued.items.map((j) => j.id)).toEqual([ids[4], ids[2]]);
    const queuedRest = await h.service.list({
      owner: OWNER,
      state: 'queued',
      limit: 2,
      cursor: queued.nextCursor!,
    });
    expect(queuedRest).toEqual({ items: [expect.objectContaining({ id: ids[0] })], nextCursor: null });
    expect((await h.service.list({ owner: OWNER, state: 'running', limit: 10 })).items).toEqual([]);

    await expect(h.service.list({ owner: OWNER, limit: 2, cursor: 'nonsense' })).rejects.toBeInstanceOf(
      InvalidCursorError,
    );
    const stats = await h.service.stats();
    expect(stats.byState).toMatchObject({ queued: 3, cancelled: 2 });
    expect(stats.queueDepth).toBe(3);
  });

  it('answers a repeated Idempotency-Key with the same job, and a changed body with a conflict', async () => {
    h = await harness(redis.url, 'idempotency');
    const input = { ...generated(20, 2, 1), idempotencyKey: 'key {with} braces', fingerprint: 'fp-1' };
    const first = await h.service.submit(input);
    const again = await h.service.submit(input);
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(again.job.id).toBe(first.job.id);
    await expect(h.service.submit({ ...input, fingerprint: 'fp-2' })).rejects.toBeInstanceOf(
      IdempotencyConflictError,
    );
    // concurrent duplicates also end as one job
    const racing = await Promise.all(
      [1, 2, 3].map(() => h.service.submit({ ...input, idempotencyKey: 'race' })),
    );
    expect(new Set(racing.map((r) => r.job.id)).size).toBe(1);
    expect(racing.filter((r) => r.created).length).toBe(1);
    expect((await h.service.list({ owner: OWNER, limit: 10 })).items.length).toBe(2);
    // concurrent submissions of different bodies: one job, the others conflict and leave nothing behind
    const mixed = await Promise.allSettled(
      ['a', 'b', 'c'].map((fingerprint) =>
        h.service.submit({ ...input, idempotencyKey: 'mixed', fingerprint }),
      ),
    );
    expect(mixed.filter((r) => r.status === 'fulfilled').length).toBe(1);
    for (const r of mixed) {
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(IdempotencyConflictError);
    }
    expect((await h.service.list({ owner: OWNER, limit: 10 })).items.length).toBe(3);
    expect((await scanKeys(h.raw, `${h.keys.control}:job:`)).length).toBe(3);
    // another key is another job
    const other = await h.service.submit({ ...input, idempotencyKey: 'other' });
    expect(other.created).toBe(true);
    expect(other.job.id).not.toBe(first.job.id);
  });

  it('gives null / not-found for unknown and malformed ids', async () => {
    h = await harness(redis.url, 'unknown');
    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const id of [unknown, 'not-a-uuid', '{x}']) {
      expect(await h.service.get(id, OWNER)).toBeNull();
      expect(await h.service.iterates(id, OWNER, 0, 10)).toBeNull();
      expect(await h.service.cancel(id, OWNER)).toBeNull();
      expect(await h.service.remove(id, OWNER)).toBe('not-found');
      expect(await collectEvents(h.service, id)).toEqual([]);
    }
  });
});

describe('retention', () => {
  it('removes a finished job and every key it had, but not a running one', async () => {
    h = await harness(redis.url, 'remove');
    await h.startWorkers();
    const { job } = await h.service.submit({ ...longGd(60), idempotencyKey: 'k', fingerprint: 'f' });
    await waitFor(async () => (await h.service.get(job.id, OWNER))!.iterates.recorded > 0, 10_000);
    expect(await h.service.remove(job.id, OWNER)).toBe('running');
    await h.service.cancel(job.id, OWNER);
    await h.waitForState(job.id, ['cancelled']);
    await waitFor(async () => (await h.queue.getJobState(job.id)) === 'completed', 5000);

    const keysOf = async () => (await scanKeys(h.raw, h.prefix)).filter((k) => k.includes(job.id));
    expect((await keysOf()).length).toBeGreaterThan(3);
    expect(await h.service.remove(job.id, OWNER)).toBe('deleted');
    expect(await keysOf()).toEqual([]);
    expect(await h.raw.keys(`${h.keys.control}:idempotency:*`)).toEqual([]);
    expect(await h.service.get(job.id, OWNER)).toBeNull();
    expect(await h.service.remove(job.id, OWNER)).toBe('not-found');
    expect((await h.service.list({ owner: OWNER, limit: 10 })).items).toEqual([]);
    expect((await h.service.stats()).byState.cancelled).toBe(0);
  });

  it('gives every key of the job store a TTL', async () => {
    h = await harness(redis.url, 'ttl');
    await h.startWorkers();
    const ids = [];
    for (const input of [
      generated(50, 3, 1),
      { ...generated(50, 3, 2), idempotencyKey: 'i', fingerprint: 'f' },
    ]) {
      ids.push((await h.service.submit(input)).job.id);
    }
    const queuedOnly = (await h.service.submit(generated(50, 3, 3))).job.id;
    await h.service.cancel(queuedOnly, OWNER);
    for (const id of ids) await h.waitForState(id, ['succeeded']);
    await h.service.stats();

    const all = await scanKeys(h.raw, h.prefix);
    const ours = all.filter((k) => !k.startsWith(h.keys.bullPrefix));
    expect(ours.length).toBeGreaterThan(10);
    // Prune deletes a job when its time is up; the TTLs are the safety net should it never run: a state
    // hash lives CONTROL_GRACE_MS past its expiry, data DATA_GRACE_SECONDS past the job's TTL.
    const graceSeconds = CONTROL_GRACE_MS / 1000;
    for (const key of ours) {
      const ttl = await h.raw.ttl(key);
      const max = key.startsWith(h.keys.control) ? TTL + graceSeconds : TTL + DATA_GRACE_SECONDS;
      expect({ key, ok: ttl > 0 && ttl <= max }).toEqual({ key, ok: true });
    }
    for (const id of [...ids, queuedOnly]) {
      const expiresAt = Number(await h.raw.hget(h.keys.state(id), 'expiresAt'));
      expect(expiresAt - Date.now()).toBeGreaterThan((TTL - 5) * 1000);
      expect(expiresAt - Date.now()).toBeLessThanOrEqual(TTL * 1000);
    }
  });

  it('deletes a job, state and data, once its time is up, and forgets its Idempotency-Key', async () => {
    h = await harness(redis.url, 'prune');
    await h.startWorkers();
    const kept = (await h.service.submit(generated(30, 3, 1))).job.id;
    const old = (await h.service.submit({ ...generated(30, 3, 2), idempotencyKey: 'k', fingerprint: 'f' }))
      .job.id;
    for (const id of [kept, old]) await h.waitForState(id, ['succeeded']);
    // the old job's time is up (as if TTL seconds had passed since it finished)
    await h.raw.hset(h.keys.state(old), 'expiresAt', Date.now() - 1);
    await h.raw.zadd(h.keys.expiry, Date.now() - 1, old);
    expect(await h.service.get(old, OWNER)).toBeNull();
    // a read writes nothing: the job's keys stay until the background prune comes by
    await h.service.list({ owner: OWNER, limit: 10 });
    await h.service.stats();
    expect(await h.raw.zscore(h.keys.owner(OWNER).all, old)).not.toBeNull();
    await h.service.prune();
    const page = await h.service.list({ owner: OWNER, limit: 10 });
    expect(page.items.map((j) => j.id)).toEqual([kept]);
    expect(await scanKeys(h.raw, `${h.prefix}:job:{${old}}`)).toEqual([]);
    expect(await h.raw.exists(h.keys.state(old))).toBe(0);
    expect(await h.raw.zscore(h.keys.owner(OWNER).all, old)).toBeNull();
    expect(await h.raw.zscore(h.keys.byState.succeeded, old)).toBeNull();
    expect(await h.raw.keys(`${h.keys.control}:idempotency:*`)).toEqual([]);
    expect((await h.service.stats()).byState.succeeded).toBe(1);
    // a running (or queued) job past its time is still work to do: it gets another TTL, and its data too
    const backlog = (await h.service.submit(longGd(50))).job.id;
    await h.waitForState(backlog, ['running']);
    await h.raw.hset(h.keys.state(backlog), 'expiresAt', Date.now() - 1);
    await h.raw.zadd(h.keys.expiry, Date.now() - 1, backlog);
    await h.raw.expire(h.keys.data(backlog).problem, 5);
    await h.service.prune();
    expect(Number(await h.raw.hget(h.keys.state(backlog), 'expiresAt'))).toBeGreaterThan(
      Date.now() + (TTL - 5) * 1000,
    );
    expect(await h.raw.ttl(h.keys.data(backlog).problem)).toBeGreaterThan(TTL);
    expect(['queued', 'running']).toContain((await h.service.get(backlog, OWNER))!.state);
    await h.service.cancel(backlog, OWNER);
    await h.waitForState(backlog, ['cancelled']);
    // the same key makes a new job now
    expect(
      (await h.service.submit({ ...generated(30, 3, 2), idempotencyKey: 'k', fingerprint: 'f' })).created,
    ).toBe(true);
  });
});
