/**
 * Integration-test plumbing for the job layer: a producer and (optionally) workers on a fresh key prefix
 * and queue name, a raw Redis connection for looking under the hood, and cleanup of everything.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import {
  createJobService,
  type JobService,
  type JobServiceOptions,
  type JobView,
  type StartWorkersOptions,
  type SubmitInput,
  startWorkers,
  type WorkerHandle,
} from '../../src/jobs/index.js';
import { Keys } from '../../src/jobs/keys.js';
import { generateProblem } from '../../src/problem/generate.js';
import { parseProblem } from '../../src/problem/parse.js';
import type { SolveOptions } from '../../src/solver/index.js';
import { uniquePrefix } from '../helpers/redis.js';

export const TTL = 3600;
/** The owner the tests submit as (another owner's view is tested in job-service.test.ts). */
export const OWNER = 'alice';

export interface Harness {
  url: string;
  prefix: string;
  queueName: string;
  keys: Keys;
  service: JobService;
  /** a plain connection for inspecting keys */
  raw: Redis;
  /** a BullMQ Queue on the same queue, for reading BullMQ's view of a job */
  queue: Queue;
  startWorkers(overrides?: Partial<StartWorkersOptions>): Promise<WorkerHandle>;
  waitForState(id: string, states: string[], timeoutMs?: number): Promise<JobView>;
  close(): Promise<void>;
}

export async function harness(
  url: string,
  name: string,
  opts: { queueName?: string; service?: Partial<JobServiceOptions> } = {},
): Promise<Harness> {
  const prefix = uniquePrefix(name);
  const queueName = opts.queueName ?? `q-${prefix}`;
  const keys = new Keys(prefix);
  const service = await createJobService({
    redisUrl: url,
    keyPrefix: prefix,
    jobTtlSeconds: TTL,
    queueName,
    ...opts.service,
  });
  const raw = new Redis(url, { maxRetriesPerRequest: 1 });
  const queue = new Queue(queueName, { connection: { url }, prefix: keys.bullPrefix });
  const workers: WorkerHandle[] = [];
  const h: Harness = {
    url,
    prefix,
    queueName,
    keys,
    service,
    raw,
    queue,
    async startWorkers(overrides = {}) {
      const w = await startWorkers({
        redisUrl: url,
        keyPrefix: prefix,
        jobTtlSeconds: TTL,
        concurrency: 1,
        queueName,
        ...overrides,
      });
      workers.push(w);
      return w;
    },
    async waitForState(id, states, timeoutMs = 20_000) {
      let job: JobView | null = null;
      await waitFor(
        async () => {
          job = await service.get(id, OWNER);
          return job !== null && states.includes(job.state);
        },
        timeoutMs,
        () => `job ${id} never reached ${states.join('/')} (last: ${JSON.stringify(job)?.slice(0, 400)})`,
      );
      return job!;
    },
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await service.close();
      await queue.close();
      const all = await scanKeys(raw, prefix);
      if (all.length > 0) await raw.del(...all);
      await raw.quit();
    },
  };
  return h;
}

export async function scanKeys(redis: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    found.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  message: () => string = () => 'condition not met',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${message()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A generated problem with a known answer, as the API would submit it. */
export function generated(n: number, d: number, seed = 1, options: Partial<SolveOptions> = {}): SubmitInput {
  const parsed = parseProblem(generateProblem({ n, d, seed }));
  return {
    owner: OWNER,
    problem: parsed.problem,
    options: { ...parsed.options, ...options },
    xStar: parsed.xStar,
  };
}

/**
 * gd that runs until stopped or out of time (tolerance 0 is never met), recording every `every`-th iterate,
 * on a 200 x 8 problem (`n` rows: more makes each iteration slower, so fewer fit in `seconds`).
 */
export function longGd(seconds: number, every = 50, seed = 2, n = 200): SubmitInput {
  return generated(n, 8, seed, {
    method: 'gd',
    tolerance: 0,
    maxIterations: 1e9,
    maxSeconds: seconds,
    record: { every, includeX: true, limit: 10_000 },
  });
}
