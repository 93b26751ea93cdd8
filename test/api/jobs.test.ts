/** The job resource with one worker: iterates while running, cancel (queued and running), delete, list. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/jobs/types.js';
import type { Iterate } from '../../src/solver/index.js';
import {
  expectProblem,
  type Harness,
  slowBody,
  startHarness,
  submit,
  vectorBody,
  waitForJob,
} from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('api-jobs', { workers: 1 });
});
afterAll(() => h?.close());

describe('a running job', () => {
  it('pages iterates while it runs, cancels queued and running jobs, refuses to delete while running', async () => {
    const slow = await submit(h, slowBody(20));
    await waitForJob(h, slow.id, (job) => job.state === 'running' && (job.progress?.iteration ?? 0) > 20);

    // The one worker is busy: this one waits in the queue.
    const queued = await submit(h, vectorBody('tiny'));
    expect(queued.state).toBe('queued');

    // Iterates, paged, contiguous, while the solve goes on.
    const seen: Iterate[] = [];
    let offset = 0;
    for (let page = 0; page < 3; page++) {
      const res = await h.http().get(`/jobs/${slow.id}/iterates`).query({ offset, limit: 7 });
      expect(res.status).toBe(200);
      expect(res.body.items).toHaveLength(7);
      expect(res.body.nextOffset).toBe(offset + 7);
      seen.push(...res.body.items);
      offset = res.body.nextOffset;
    }
    expect(seen.map((it) => it.iteration)).toEqual(seen.map((_, i) => i));
    expect(seen[0].x).toHaveLength(10);
    const running = await h.http().get(`/jobs/${slow.id}`);
    expect(running.body.state).toBe('running');
    expect(Number(running.headers['retry-after'])).toBeGreaterThan(0);

    expectProblem(await h.http().delete(`/jobs/${slow.id}`), 409);

    // Cancel the queued job: it ends at once and never runs.
    const cancelQueued = await h.http().post(`/jobs/${queued.id}/cancel`);
    expect(cancelQueued.status).toBe(200);
    expect(cancelQueued.body).toMatchObject({
      id: queued.id,
      state: 'cancelled',
      done: true,
      startedAt: null,
    });

    // Cancel the running job: it stops within an iteration.
    const cancelRunning = await h.http().post(`/jobs/${slow.id}/cancel`);
    expect([200, 202]).toContain(cancelRunning.status);
    const cancelled = await waitForJob(h, slow.id, (job) => job.done, 10_000);
    expect(cancelled.state).toBe('cancelled');

    // Cancelling a finished job changes nothing.
    const again = await h.http().post(`/jobs/${slow.id}/cancel`);
    expect(again.status).toBe(200);
    expect(again.body.state).toBe('cancelled');

    // The worker is free again and never ran the cancelled queued job.
    const next = await submit(h, vectorBody('tiny'));
    expect((await waitForJob(h, next.id)).state).toBe('succeeded');
    const stillCancelled = await waitForJob(h, queued.id);
    expect(stillCancelled).toMatchObject({ state: 'cancelled', startedAt: null });

    // Finished: deletable, then gone.
    expect((await h.http().delete(`/jobs/${slow.id}`)).status).toBe(204);
    expectProblem(await h.http().get(`/jobs/${slow.id}`), 404);
    expectProblem(await h.http().delete(`/jobs/${slow.id}`), 404);
    expectProblem(await h.http().get(`/jobs/${slow.id}/iterates`), 404);
  });

  it('pages the iterates of a finished job to the end', async () => {
    const job = await waitForJob(h, (await submit(h, vectorBody('medium'))).id);
    const all: Iterate[] = [];
    let offset = 0;
    for (;;) {
      const res = await h.http().get(`/jobs/${job.id}/iterates?offset=${offset}&limit=4`);
      expect(res.status).toBe(200);
      if (res.body.items.length === 0) break;
      all.push(...res.body.items);
      offset = res.body.nextOffset;
    }
    expect(all.length).toBe(job.result!.iterations + 1);
    expect(all.at(-1)!.loss).toBe(job.result!.loss);
    // The job says what was recorded, and that nothing was resumed or cut.
    expect(job.resumes).toBe(0);
    expect(job.iterates.recorded).toBe(all.length);
    expect(job.iterates.truncated).toBe(false);
    expect(job.iterates.limit).toBeGreaterThanOrEqual(all.length);
  });
});

describe('GET /jobs', () => {
  it('lists newest first, in pages, optionally by state', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await submit(h, vectorBody('tiny'))).id);
    for (const id of ids) await waitForJob(h, id);

    const pages: JobView[][] = [];
    let cursor: string | undefined;
    do {
      const res = await h
        .http()
        .get('/jobs')
        .query({ limit: 2, ...(cursor ? { cursor } : {}) });
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      pages.push(res.body.items);
      cursor = res.body.nextCursor ?? undefined;
    } while (cursor);
    const listed = pages.flat();
    expect(pages.length).toBeGreaterThan(1);
    expect(new Set(listed.map((j) => j.id)).size).toBe(listed.length);
    // Newest first: the three just submitted lead, in reverse order of submission.
    expect(listed.slice(0, 3).map((j) => j.id)).toEqual([...ids].reverse());
    const created = listed.map((j) => Date.parse(j.createdAt));
    expect(created).toEqual([...created].sort((a, b) => b - a));

    const succeeded = await h.http().get('/jobs?state=succeeded&limit=100');
    expect(succeeded.status).toBe(200);
    const items = succeeded.body.items as JobView[];
    expect(items.every((j) => j.state === 'succeeded')).toBe(true);
    expect(items.map((j) => j.id)).toEqual(expect.arrayContaining(ids));
    const none = await h.http().get('/jobs?state=failed');
    expect(none.body).toEqual({ items: [], nextCursor: null });

    expectProblem(await h.http().get('/jobs?limit=0'), 400);
    const badCursor = expectProblem(await h.http().get('/jobs?cursor=nonsense'), 400);
    expect(badCursor.errors).toEqual([{ parameter: 'cursor', detail: expect.any(String) }]);
    expectProblem(await h.http().get('/jobs?state=bogus'), 400);
  });
});
