/**
 * Worker processes (dist/main/worker.js) killed with SIGKILL mid-solve: another worker process takes the
 * job over from its last checkpoint, so the recorded iterates are 0..N exactly once each and the result
 * counts all N iterations. Prints the measured figures (seconds from SIGKILL to resumed progress).
 */
import { afterEach, expect, it } from 'vitest';
import { DEFAULT_QUEUE_NAME, type JobEvent } from '../../src/jobs/index.js';
import { killAll, type Spawned, spawnWorker, workersStarted } from '../helpers/processes.js';
import { redisForFile } from '../helpers/redis.js';
import { generated, type Harness, harness, OWNER, waitFor } from './harness.js';

const redis = redisForFile();
let h: Harness | undefined;
afterEach(async () => {
  await killAll();
  await h?.close();
  h = undefined;
});

/** gd with a fixed small step on 2000 x 10: ~2.6 ms an iteration, every iterate recorded. */
const ITERATIONS = 1800;
const longRun = () =>
  generated(2000, 10, 3, {
    method: 'gd',
    lineSearch: 'none',
    stepSize: 1e-3,
    tolerance: 0,
    maxIterations: ITERATIONS,
    record: { every: 1, includeX: false, limit: 10_000 },
  });

function startWorkers(count: number, extra: Record<string, string> = {}): Spawned[] {
  return Array.from({ length: count }, () =>
    spawnWorker({
      REDIS_URL: redis.url,
      KEY_PREFIX: h!.prefix,
      LOG_LEVEL: 'info',
      LOCK_DURATION_MS: '1000',
      STALLED_INTERVAL_MS: '500',
      ...extra,
    }),
  );
}

async function ready(workers: Spawned[]): Promise<void> {
  await workersStarted(workers);
}

/** The job's state hash (state, holder) with its run hash (checkpoint, progress). */
const meta = async (id: string) => ({
  ...(await h!.raw.hgetall(h!.keys.data(id).run)),
  ...(await h!.raw.hgetall(h!.keys.state(id))),
});

/** The worker process that holds the job now (meta `holder` is host:pid). */
async function holderOf(id: string, workers: Spawned[]): Promise<Spawned> {
  const holder = (await meta(id)).holder ?? '';
  const found = workers.find((w) => holder.endsWith(`:${w.pid}`));
  if (!found) throw new Error(`no worker holds ${id} (holder '${holder}')`);
  return found;
}

/**
 * Kills the job's holder once `recorded` iterates are stored, and waits until another worker reports
 * progress past the checkpoint the dead one left. Returns that checkpoint and the seconds it took.
 */
async function killHolder(id: string, workers: Spawned[], recorded: number) {
  await waitFor(
    async () => Number((await meta(id)).checkpointIteration ?? -1) >= recorded,
    30_000,
    () => `the job never recorded ${recorded} iterates`,
  );
  const victim = await holderOf(id, workers);
  const killedAt = Date.now();
  await victim.kill('SIGKILL');
  // the dead process writes nothing more: this is the checkpoint the next worker must resume from
  const checkpoint = Number((await meta(id)).checkpointIteration);
  await waitFor(
    async () => {
      const m = await meta(id);
      if (m.state === 'succeeded') return true;
      const progressed = m.progress ? (JSON.parse(m.progress) as { iteration: number }).iteration : -1;
      return m.state === 'running' && !m.holder?.endsWith(`:${victim.pid}`) && progressed > checkpoint;
    },
    30_000,
    () => 'no other worker resumed the job',
  );
  return { victim, checkpoint, secondsToResume: (Date.now() - killedAt) / 1000 };
}

async function stateEvents(id: string): Promise<Record<string, unknown>[]> {
  const events: JobEvent[] = [];
  for await (const e of h!.service.events(id, OWNER, undefined, new AbortController().signal)) events.push(e);
  return events.filter((e) => e.type === 'state').map((e) => e.data as Record<string, unknown>);
}

async function expectCompleteRun(id: string, resumes: number) {
  const done = await h!.waitForState(id, ['succeeded', 'failed', 'cancelled'], 60_000);
  expect(done.state).toBe('succeeded');
  expect(done.result!.iterations).toBe(ITERATIONS);
  expect(done.result!.reason).toBe('max-iterations');
  expect(done.resumes).toBe(resumes);
  expect(done.iterates).toEqual({ recorded: ITERATIONS + 1, limit: 10_000, truncated: false });
  const { items } = (await h!.service.iterates(id, OWNER, 0, 100_000))!;
  // every iteration exactly once: no duplicate, no gap
  expect(items.map((it) => it.iteration)).toEqual(Array.from({ length: ITERATIONS + 1 }, (_, i) => i));
  expect(items.at(-1)).toMatchObject({ loss: done.result!.loss, gradNorm: done.result!.gradNorm });
  return done;
}

it('resumes a SIGKILLed worker process its job from the checkpoint, in another process', async () => {
  h = await harness(redis.url, 'crash-once', { queueName: DEFAULT_QUEUE_NAME });
  const workers = startWorkers(2);
  await ready(workers);
  const { job } = await h.service.submit(longRun());

  const { checkpoint, secondsToResume } = await killHolder(job.id, workers, 300);
  expect(checkpoint).toBeGreaterThanOrEqual(300);
  await expectCompleteRun(job.id, 1);

  const states = await stateEvents(job.id);
  const runs = states.filter((s) => s.state === 'running');
  expect(runs).toEqual([
    { state: 'running', attempt: 1 },
    // the new worker continued from the dead one's last checkpoint: nothing recorded was redone
    { state: 'running', attempt: 2, resumedFrom: checkpoint },
  ]);
  expect(states[0]).toEqual({ state: 'queued' });
  expect(states.at(-1)).toEqual({ state: 'succeeded' });
  // while no worker held it, it was queued again (when the other worker was not quicker to take it)
  for (const s of states.slice(1, -1)) {
    if (s.state === 'queued') expect(s).toEqual({ state: 'queued', reason: 'worker-lost' });
  }
  // generous: lock 1 s + stalled check 0.5 s + pick-up, on a shared 2-core machine
  expect(secondsToResume).toBeLessThan(15);
  console.info(JSON.stringify({ figure: 'sigkill-resume', secondsToResume, resumedFrom: checkpoint }));
}, 90_000);

it('survives two worker deaths, resuming each time', async () => {
  h = await harness(redis.url, 'crash-twice', { queueName: DEFAULT_QUEUE_NAME });
  const workers = startWorkers(3);
  await ready(workers);
  const { job } = await h.service.submit(longRun());

  const first = await killHolder(job.id, workers, 300);
  const second = await killHolder(job.id, workers, first.checkpoint + 300);
  expect(second.victim.pid).not.toBe(first.victim.pid);
  await expectCompleteRun(job.id, 2);
  const resumedFrom = (await stateEvents(job.id)).filter((s) => s.resumedFrom !== undefined);
  expect(resumedFrom.map((s) => s.resumedFrom)).toEqual([first.checkpoint, second.checkpoint]);
  console.info(
    JSON.stringify({
      figure: 'sigkill-resume-twice',
      secondsToResume: [first.secondsToResume, second.secondsToResume],
    }),
  );
}, 90_000);

it('fails a job whose workers die more often than MAX_RESUMES allows', async () => {
  h = await harness(redis.url, 'crash-limit', { queueName: DEFAULT_QUEUE_NAME });
  const workers = startWorkers(3, { MAX_RESUMES: '1' });
  await ready(workers);
  const { job } = await h.service.submit(longRun());
  const first = await killHolder(job.id, workers, 100);
  await waitFor(
    async () => Number((await meta(job.id)).checkpointIteration ?? -1) >= first.checkpoint + 100,
    30_000,
  );
  await (await holderOf(job.id, workers)).kill('SIGKILL');
  const done = await h.waitForState(job.id, ['succeeded', 'failed', 'cancelled'], 30_000);
  expect(done.state).toBe('failed');
  expect(done.error?.code).toBe('WORKER_LOST');
  expect(done.resumes).toBe(1);
}, 90_000);
