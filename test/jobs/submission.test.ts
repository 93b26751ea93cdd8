/**
 * Submission is all or nothing: a failure at any step (BullMQ's add failing, the submitting process dying
 * midway, command timeouts under load) leaves either a complete queued job or nothing that is listed and
 * nothing that outlives the provisional TTL.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { afterEach, expect, it, vi } from 'vitest';
import { createJobService, type JobService, type SubmitInput } from '../../src/jobs/index.js';
import { Keys } from '../../src/jobs/keys.js';
import { DATA_GRACE_SECONDS } from '../../src/jobs/store.js';
import { redisForFile, uniquePrefix } from '../helpers/redis.js';
import { generated, type Harness, harness, OWNER, scanKeys, TTL } from './harness.js';

const redis = redisForFile();
let h: Harness | undefined;
const services: JobService[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(services.splice(0).map((s) => s.close()));
  await h?.close();
  h = undefined;
});

const PROVISIONAL = 2;

/** Every job the store holds, with what a consistency check needs. */
async function inspect(hh: Harness) {
  const states = await scanKeys(hh.raw, `${hh.keys.control}:job:`);
  const jobs = [];
  for (const stateKey of states) {
    const meta = await hh.raw.hgetall(stateKey);
    const id = meta.id;
    const keys = (await scanKeys(hh.raw, `${hh.prefix}:job:{${id}}`)).sort();
    const ttls = await Promise.all(keys.map((k) => hh.raw.ttl(k)));
    jobs.push({
      id,
      provisional: meta.provisional === '1',
      /** ms until prune deletes the state */
      expiresIn: Number(meta.expiresAt) - Date.now(),
      ttls,
      inBull: (await hh.queue.getJob(id)) !== undefined,
    });
  }
  const owner = hh.keys.owner(OWNER);
  const listed = await hh.raw.zrange(owner.all, '0', '-1');
  const queued = await hh.raw.zrange(owner.byState.queued, '0', '-1');
  return { jobs, listed, queued };
}

/** The invariant: listed means complete and queued in BullMQ; anything incomplete expires soon. */
async function expectConsistent(hh: Harness) {
  const { jobs, listed, queued } = await inspect(hh);
  for (const id of queued) {
    const job = jobs.find((j) => j.id === id);
    expect({ id, complete: job !== undefined && !job.provisional && job.inBull }).toEqual({
      id,
      complete: true,
    });
  }
  for (const job of jobs) {
    if (job.provisional || !listed.includes(job.id)) {
      for (const ttl of job.ttls) expect(ttl > 0 && ttl <= PROVISIONAL).toBe(true);
      expect(job.expiresIn).toBeLessThanOrEqual(PROVISIONAL * 1000);
    } else {
      expect(job.inBull).toBe(true);
    }
  }
  return { jobs, listed };
}

it('leaves nothing when BullMQ fails after adding the job', async () => {
  h = await harness(redis.url, 'add-then-fail');
  const original = Queue.prototype.add;
  vi.spyOn(Queue.prototype, 'add').mockImplementationOnce(async function (this: Queue, ...args) {
    await original.apply(this, args);
    throw new Error('connection lost after the add');
  });
  await expect(h.service.submit(generated(40, 3))).rejects.toThrow('connection lost after the add');
  expect((await h.service.list({ owner: OWNER, limit: 10 })).items).toEqual([]);
  expect(await scanKeys(h.raw, `${h.prefix}:job:`)).toEqual([]);
  expect(await h.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized')).toEqual({
    waiting: 0,
    active: 0,
    delayed: 0,
    prioritized: 0,
  });
  // its quota reservation went too: a limit of one admits the next job
  const next = await h.service.submit({ ...generated(40, 3), maxActiveJobs: 1 });
  expect(next.created).toBe(true);
  expect(await h.raw.zcard(h.keys.owner(OWNER).pending)).toBe(0);
});

it('leaves only unlisted keys that expire with the provisional TTL when the submitter dies midway', async () => {
  h = await harness(redis.url, 'dies', { service: { provisionalTtlSeconds: PROVISIONAL } });
  // the submitting process "dies" while queueing: the add never returns, nothing after it runs
  vi.spyOn(Queue.prototype, 'add').mockImplementationOnce(() => new Promise(() => {}));
  void h.service.submit({ ...generated(40, 3), maxActiveJobs: 1 });
  await sleep(300);
  const { jobs, listed } = await expectConsistent(h);
  expect(jobs).toHaveLength(1);
  expect(jobs[0].provisional).toBe(true);
  expect(jobs[0].inBull).toBe(false);
  expect(listed).toEqual([]);
  expect(await h.service.get(jobs[0].id, OWNER)).toBeNull();
  expect((await h.service.stats()).byState.queued).toBe(0);

  await sleep(PROVISIONAL * 1000 + 500);
  expect(await scanKeys(h.raw, `${h.prefix}:job:`)).toEqual([]);
  // the state is past its expiry: the background prune deletes it
  await h.service.prune();
  expect(await scanKeys(h.raw, `${h.keys.control}:job:`)).toEqual([]);
  // the dead submission's quota reservation lapsed with it
  expect((await h.service.submit({ ...generated(40, 3), maxActiveJobs: 1 })).created).toBe(true);
});

it('completes a submission that died midway when the client retries with its Idempotency-Key', async () => {
  h = await harness(redis.url, 'retry-completes', { service: { provisionalTtlSeconds: PROVISIONAL } });
  const input: SubmitInput = { ...generated(40, 3, 4), idempotencyKey: 'once', fingerprint: 'body-1' };
  vi.spyOn(Queue.prototype, 'add').mockImplementationOnce(() => new Promise(() => {}));
  void h.service.submit(input);
  await sleep(300);
  const [dead] = (await inspect(h)).jobs;

  const retry = await h.service.submit(input);
  expect(retry).toMatchObject({ created: false, job: { id: dead.id, state: 'queued' } });
  const { jobs, listed } = await expectConsistent(h);
  expect(jobs).toHaveLength(1);
  expect(listed).toEqual([dead.id]);
  // complete: every key has the job's full TTL, not the provisional one
  for (const ttl of jobs[0].ttls) expect(ttl).toBeGreaterThan(PROVISIONAL);
  expect(jobs[0].ttls.every((t) => t <= TTL + DATA_GRACE_SECONDS)).toBe(true);
  expect(jobs[0].expiresIn).toBeGreaterThan((TTL - 5) * 1000);
  await h.startWorkers();
  expect((await h.waitForState(dead.id, ['succeeded'])).state).toBe('succeeded');
});

it('keeps the store consistent under concurrent large submits that time out', async () => {
  h = await harness(redis.url, 'timeouts', { service: { provisionalTtlSeconds: PROVISIONAL } });
  const input = generated(30_000, 20, 5);
  // a command timeout shorter than twenty submissions of 4.8 MB (written in 1 MiB pieces) take under contention:
  // submissions fail at various steps
  const hurried = await createJobService({
    redisUrl: redis.url,
    keyPrefix: h.prefix,
    jobTtlSeconds: TTL,
    queueName: h.queueName,
    provisionalTtlSeconds: PROVISIONAL,
    commandTimeoutMs: 10,
  });
  services.push(hurried);
  // 16 hurried submissions race 4 patient ones (the harness's service, 10 s timeout) for the same Redis
  const [hurriedOutcomes, patientOutcomes] = await Promise.all([
    Promise.allSettled(Array.from({ length: 16 }, () => hurried.submit(input))),
    Promise.allSettled(Array.from({ length: 4 }, () => h!.service.submit(input))),
  ]);
  const outcomes = [...hurriedOutcomes, ...patientOutcomes];
  const created = outcomes.filter((o) => o.status === 'fulfilled').map((o) => o.value.job.id);
  expect(hurriedOutcomes.some((o) => o.status === 'rejected')).toBe(true);
  expect(patientOutcomes.every((o) => o.status === 'fulfilled')).toBe(true);
  // writes that timed out on the client may still land: let them
  await sleep(1000);
  const { listed } = await expectConsistent(h);
  // every submission that answered is a listed job
  for (const id of created) expect(listed).toContain(id);

  await sleep(PROVISIONAL * 1000 + 500);
  const after = await expectConsistent(h);
  // what remains is complete jobs only, each listed: the ones whose submission answered
  expect(after.jobs.every((j) => !j.provisional && j.inBull && after.listed.includes(j.id))).toBe(true);
  expect(after.jobs.map((j) => j.id).sort()).toEqual([...created].sort());
  expect(await h.raw.zcount(h.keys.owner(OWNER).pending, Date.now(), '+inf')).toBe(0);
  console.info(
    JSON.stringify({ figure: 'timeouts', submits: 20, created: created.length, kept: after.jobs.length }),
  );
}, 60_000);

it("keeps a job's data under its own hash tag and its state and the indexes under BullMQ's", () => {
  const keys = new Keys(uniquePrefix('tags'));
  const id = '00000000-0000-4000-8000-000000000000';
  for (const key of Object.values(keys.data(id))) expect(key).toContain(`{${id}}`);
  expect(keys.bullPrefix).toContain('{bullmq}');
  const owner = keys.owner('team {a}');
  const control = [owner.all, owner.pending, ...Object.values(owner.byState), keys.idempotency('x', 'y')];
  for (const key of [...control, keys.state(id), keys.all, keys.expiry, ...Object.values(keys.byState)]) {
    expect(key).toContain(':{bullmq}:');
    // an owner name or key with braces never reaches a key name (it would change the slot)
    expect(key.match(/[{}]/g)).toEqual(['{', '}']);
  }
});
