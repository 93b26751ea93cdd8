/** Jobs belong to their owner (the API key's name): another owner sees nothing; quotas are per owner. */
import { afterEach, expect, it } from 'vitest';
import { type JobEvent, QuotaExceededError } from '../../src/jobs/index.js';
import { redisForFile } from '../helpers/redis.js';
import { generated, type Harness, harness, longGd, OWNER, scanKeys, waitFor } from './harness.js';

const redis = redisForFile();
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const BOB = 'bob';

async function events(id: string, owner: string): Promise<JobEvent[]> {
  const seen: JobEvent[] = [];
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 500);
  for await (const e of h!.service.events(id, owner, undefined, controller.signal)) seen.push(e);
  return seen;
}

it("treats another owner's job exactly as absent", async () => {
  h = await harness(redis.url, 'owners');
  const { job } = await h.service.submit(generated(40, 3));
  expect(job).toMatchObject({ resumes: 0, iterates: { recorded: 0, limit: 10_000, truncated: false } });

  expect(await h.service.get(job.id, BOB)).toBeNull();
  expect(await h.service.iterates(job.id, BOB, 0, 10)).toBeNull();
  expect(await h.service.cancel(job.id, BOB)).toBeNull();
  expect(await h.service.remove(job.id, BOB)).toBe('not-found');
  expect(await events(job.id, BOB)).toEqual([]);
  expect((await h.service.list({ owner: BOB, limit: 10 })).items).toEqual([]);
  expect((await h.service.list({ owner: BOB, state: 'queued', limit: 10 })).items).toEqual([]);
  // untouched for its owner
  expect((await h.service.get(job.id, OWNER))!.state).toBe('queued');
  expect((await events(job.id, OWNER)).map((e) => e.type)).toEqual(['state']);
  expect((await h.service.list({ owner: OWNER, limit: 10 })).items.map((j) => j.id)).toEqual([job.id]);

  // a finished job too: bob cannot delete it, alice can
  await h.startWorkers();
  await h.waitForState(job.id, ['succeeded']);
  expect(await h.service.remove(job.id, BOB)).toBe('not-found');
  expect(await h.service.get(job.id, OWNER)).not.toBeNull();
  expect(await h.service.remove(job.id, OWNER)).toBe('deleted');
});

it('lists each owner its own jobs, with paging and the state filter, and counts all in stats', async () => {
  h = await harness(redis.url, 'owner-list');
  const mine: string[] = [];
  for (let i = 0; i < 3; i++) {
    mine.push((await h.service.submit(generated(20, 2, i))).job.id);
    await h.service.submit({ ...generated(20, 2, i), owner: BOB });
  }
  await h.service.cancel(mine[1], OWNER);
  const page1 = await h.service.list({ owner: OWNER, limit: 2 });
  expect(page1.items.map((j) => j.id)).toEqual([mine[2], mine[1]]);
  const page2 = await h.service.list({ owner: OWNER, limit: 2, cursor: page1.nextCursor! });
  expect(page2).toEqual({ items: [expect.objectContaining({ id: mine[0] })], nextCursor: null });
  expect((await h.service.list({ owner: OWNER, state: 'queued', limit: 10 })).items.map((j) => j.id)).toEqual(
    [mine[2], mine[0]],
  );
  expect((await h.service.list({ owner: BOB, limit: 10 })).items).toHaveLength(3);
  expect((await h.service.stats()).byState).toMatchObject({ queued: 5, cancelled: 1 });
});

it('scopes Idempotency-Keys to their owner', async () => {
  h = await harness(redis.url, 'owner-idem');
  const input = { ...generated(20, 2, 1), idempotencyKey: 'same-key', fingerprint: 'same-body' };
  const alice = await h.service.submit(input);
  const bob = await h.service.submit({ ...input, owner: BOB });
  expect(alice.created).toBe(true);
  expect(bob.created).toBe(true);
  expect(bob.job.id).not.toBe(alice.job.id);
  expect((await h.service.submit(input)).job.id).toBe(alice.job.id);
  expect((await h.service.submit({ ...input, owner: BOB })).job.id).toBe(bob.job.id);
});

it('admits at most maxActiveJobs queued or running per owner, also when submits race', async () => {
  h = await harness(redis.url, 'quota');
  const outcomes = await Promise.allSettled(
    Array.from({ length: 8 }, (_, i) => h!.service.submit({ ...generated(20, 2, i), maxActiveJobs: 3 })),
  );
  const admitted = outcomes.filter((o) => o.status === 'fulfilled');
  const refused = outcomes.filter((o) => o.status === 'rejected').map((o) => o.reason);
  expect(admitted).toHaveLength(3);
  expect(refused).toHaveLength(5);
  for (const error of refused) {
    expect(error).toBeInstanceOf(QuotaExceededError);
    expect(error).toMatchObject({ code: 'QUOTA_EXCEEDED', limit: 3 });
    expect((error as QuotaExceededError).active).toBeGreaterThanOrEqual(3);
  }
  // a refused submit stored nothing
  expect(await scanKeys(h.raw, `${h.keys.control}:job:`)).toHaveLength(3);
  // another owner has its own quota
  expect((await h.service.submit({ ...generated(20, 2), owner: BOB, maxActiveJobs: 3 })).created).toBe(true);

  // a running job counts; a finished one frees its place
  const ids = admitted.map((o) => (o as PromiseFulfilledResult<{ job: { id: string } }>).value.job.id);
  await h.service.cancel(ids[0], OWNER);
  const { job: fourth } = await h.service.submit({ ...longGd(30), maxActiveJobs: 3 });
  await expect(h.service.submit({ ...generated(20, 2), maxActiveJobs: 3 })).rejects.toBeInstanceOf(
    QuotaExceededError,
  );
  await h.startWorkers();
  // the two small jobs finish; the long one runs and still takes a place
  await waitFor(async () => (await h!.service.get(fourth.id, OWNER))!.state === 'running', 10_000);
  await h.waitForState(ids[2], ['succeeded']);
  await expect(h.service.submit({ ...generated(20, 2), maxActiveJobs: 1 })).rejects.toMatchObject({
    code: 'QUOTA_EXCEEDED',
    active: 1,
  });
  await h.service.cancel(fourth.id, OWNER);
  await h.waitForState(fourth.id, ['cancelled']);
  expect((await h.service.submit({ ...generated(20, 2), maxActiveJobs: 1 })).created).toBe(true);
});
