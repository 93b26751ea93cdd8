/**
 * The producer side of the job layer, what the API uses: JobService over one fail-fast Redis connection
 * (shared with the BullMQ Queue, which only ever adds and removes jobs).
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type Logger, pino } from 'pino';
import { toHistogram } from './histogram.js';
import { isJobId, Keys, newJobId } from './keys.js';
import { encodeProblem } from './problem-blob.js';
import {
  DEFAULT_QUEUE_NAME,
  JOB_NAME,
  jobOptions,
  QUEUE_EVENTS_MAX_LEN,
  type SolveJobData,
} from './queue.js';
import { decodeIterate } from './records.js';
import { closeConnection, connect, execAll, guarded, PRODUCER_OPTIONS, waitReady } from './redis.js';
import { runScript } from './scripts.js';
import { EVENTS_MAX_LEN, JobStore, parseMeta, stateEvent, toView } from './store.js';
import {
  IdempotencyConflictError,
  isFinished,
  JOB_STATES,
  type JobEvent,
  type JobPage,
  type JobResult,
  type JobService,
  type JobState,
  type JobView,
  type QueueStats,
  type SubmitInput,
  type SubmitOutcome,
} from './types.js';

export interface JobServiceOptions {
  redisUrl: string;
  keyPrefix: string;
  jobTtlSeconds: number;
  queueName?: string;
  logger?: Logger;
  /** how long create waits for the first connection before answering anyway (then 503s until Redis is up) */
  connectWaitMs?: number;
  /** how often a live event stream looks for new events */
  eventsPollMs?: number;
}

/** A `cursor` that list() did not hand out. */
export class InvalidCursorError extends Error {
  readonly code = 'INVALID_CURSOR';
  constructor(cursor: string) {
    super(`invalid cursor '${cursor.slice(0, 100)}': pass the nextCursor of a previous page`);
    this.name = 'InvalidCursorError';
  }
}

const encodeCursor = (score: number): string => Buffer.from(`v1:${score}`).toString('base64url');

function decodeCursor(cursor: string): number {
  const match = /^v1:(\d{1,17})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new InvalidCursorError(cursor);
  return Number(match[1]);
}

const STREAM_ID = /^\d{1,20}-\d{1,20}$/;
const EVENTS_PAGE = 200;

interface IdempotencyRecord {
  id: string;
  fingerprint: string;
}

export async function createJobService(opts: JobServiceOptions): Promise<JobService> {
  const logger = opts.logger ?? pino({ level: 'silent' });
  const redis = connect(
    opts.redisUrl,
    PRODUCER_OPTIONS,
    (error) => logger.warn({ err: error }, 'job store connection error'),
    'levinv-api',
  );
  if (!(await waitReady(redis, opts.connectWaitMs ?? 5000))) {
    logger.warn({ redisUrl: opts.redisUrl }, 'Redis does not answer yet; the job store reports unavailable');
  }
  return new RedisJobService(redis, opts, logger);
}

class RedisJobService implements JobService {
  private readonly store: JobStore;
  private readonly keys: Keys;
  private readonly queue: Queue<SolveJobData>;
  private readonly ttl: number;
  private readonly pollMs: number;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis,
    opts: JobServiceOptions,
    private readonly logger: Logger,
  ) {
    this.keys = new Keys(opts.keyPrefix);
    this.ttl = opts.jobTtlSeconds;
    this.store = new JobStore(redis, this.keys, this.ttl);
    // 50 ms: an SSE client sees the end of a job about 50 ms late, for 20 cheap XRANGE calls a second.
    this.pollMs = opts.eventsPollMs ?? 50;
    this.queue = new Queue<SolveJobData>(opts.queueName ?? DEFAULT_QUEUE_NAME, {
      connection: redis,
      prefix: this.keys.bullPrefix,
      // Never wait for a connection or ask for the server version: either would hang or poison the Queue
      // while Redis is down; commands fail fast on our connection instead.
      skipWaitingForReady: true,
      skipVersionCheck: true,
      streams: { events: { maxLen: QUEUE_EVENTS_MAX_LEN } },
    });
    this.queue.on('error', (error) => this.logger.warn({ err: error }, 'queue error'));
  }

  submit(input: SubmitInput): Promise<SubmitOutcome> {
    return guarded('submit', async () => {
      const idempotency =
        input.idempotencyKey === undefined
          ? undefined
          : {
              key: this.keys.idempotency(createHash('sha256').update(input.idempotencyKey).digest('hex')),
              name: input.idempotencyKey,
              fingerprint: input.fingerprint ?? '',
            };
      // The common retry: the first submission is long done; answer without writing the problem again.
      if (idempotency) {
        const earlier = await this.idempotentMatch(
          idempotency.key,
          idempotency.name,
          idempotency.fingerprint,
        );
        if (earlier) return { job: earlier, created: false };
      }

      const { problem, options, xStar } = input;
      const id = newJobId();
      const now = Date.now();
      const [seq] = await execAll<[number]>(
        this.redis.multi().incr(this.keys.index.seq).expire(this.keys.index.seq, this.ttl),
      );
      // newest first: creation time, then a shared counter for jobs created in the same millisecond
      const score = now * 1000 + (seq % 1000);
      const k = this.keys.job(id);
      const meta: Record<string, string | number> = {
        id,
        state: 'queued',
        method: options.method ?? 'newton',
        n: problem.n,
        d: problem.d,
        createdAt: now,
        options: JSON.stringify(options),
        fingerprint: idempotency?.fingerprint ?? '',
        score,
        attempts: 0,
      };
      if (idempotency) meta.idempotencyKey = idempotency.key;
      await execAll(
        this.redis
          .multi()
          .set(k.problem, encodeProblem(problem, xStar), 'EX', this.ttl)
          .hset(k.meta, meta)
          .expire(k.meta, this.ttl)
          .xadd(k.events, 'MAXLEN', '~', EVENTS_MAX_LEN, '*', 'type', 'state', 'data', stateEvent('queued'))
          .expire(k.events, this.ttl),
      );
      await this.store.indexSet(id, 'queued', score, now);

      if (idempotency) {
        const record: IdempotencyRecord = { id, fingerprint: idempotency.fingerprint };
        const claimed = await this.redis.set(idempotency.key, JSON.stringify(record), 'EX', this.ttl, 'NX');
        if (claimed !== 'OK') {
          // A concurrent submission with the same key won the race: it is the job (or a conflict); ours goes.
          const earlier = await this.idempotentMatch(
            idempotency.key,
            idempotency.name,
            idempotency.fingerprint,
          ).catch(async (error: unknown) => {
            await this.forget(id);
            throw error;
          });
          if (earlier) {
            await this.forget(id);
            return { job: earlier, created: false };
          }
          // the earlier job is gone (deleted or expired): the key is ours now
          await this.redis.set(idempotency.key, JSON.stringify(record), 'EX', this.ttl);
        }
      }
      try {
        await this.enqueue(id);
      } catch (error) {
        // With a key, the client's retry finds this job and queues it (idempotentMatch). Without one,
        // nothing ever would: forget it rather than leave a job that stays queued until its TTL.
        if (!idempotency) await this.forget(id).catch(() => undefined);
        throw error;
      }
      this.logger.info({ jobId: id, n: problem.n, d: problem.d, method: meta.method }, 'job queued');
      return { job: toView(parseMeta(stringify(meta))!), created: true };
    });
  }

  /** The job an Idempotency-Key already names, null when none does; throws on another fingerprint. */
  private async idempotentMatch(key: string, name: string, fingerprint: string): Promise<JobView | null> {
    const raw = await this.redis.get(key);
    if (raw === null) return null;
    const record = JSON.parse(raw) as IdempotencyRecord;
    const job = await this.get(record.id);
    if (!job) return null;
    if (record.fingerprint !== fingerprint) throw new IdempotencyConflictError(name);
    // A submission that failed after storing its job but before queueing it is completed by its retry
    // (BullMQ ignores an add with an existing job id).
    if (job.state === 'queued') await this.enqueue(job.id);
    return job;
  }

  private async enqueue(id: string): Promise<void> {
    await this.queue.add(JOB_NAME, { jobId: id }, jobOptions(id, this.ttl));
  }

  /** Deletes a job's keys and index entries, whatever its state (a submission that lost a race). */
  private async forget(id: string): Promise<void> {
    await this.redis.del(...this.store.jobKeys(id));
    await this.store.indexDel([id]);
  }

  get(id: string): Promise<JobView | null> {
    return guarded('get', async () => {
      if (!isJobId(id)) return null;
      const k = this.keys.job(id);
      const [hash, result] = await execAll<[Record<string, string>, string | null]>(
        this.redis.pipeline().hgetall(k.meta).get(k.result),
      );
      const meta = parseMeta(hash);
      if (!meta) return null;
      return toView(meta, result ? (JSON.parse(result) as JobResult) : undefined);
    });
  }

  iterates(id: string, offset: number, limit: number) {
    return guarded('iterates', async () => {
      if (!isJobId(id)) return null;
      const k = this.keys.job(id);
      const [exists, items] = await execAll<[number, string[]]>(
        this.redis
          .pipeline()
          .exists(k.meta)
          .lrange(k.iterates, offset, offset + limit - 1),
      );
      if (exists !== 1) return null;
      return { items: items.map(decodeIterate), nextOffset: offset + items.length };
    });
  }

  cancel(id: string): Promise<JobView | null> {
    return guarded('cancel', async () => {
      if (!isJobId(id)) return null;
      const meta = await this.store.readMeta(id);
      if (!meta) return null;
      if (isFinished(meta.state)) return this.get(id);
      const outcome = await this.store.cancel(meta, Date.now());
      if (outcome === 'missing') return null;
      if (outcome === 'cancelled') {
        this.logger.info({ jobId: id }, 'queued job cancelled');
        // Saves a worker the trip; if one has already taken it, its start sees `cancelled` and skips it.
        await this.queue.remove(id).catch((error) => this.logger.debug({ err: error, jobId: id }, 'remove'));
      } else if (outcome === 'flagged') {
        this.logger.info({ jobId: id }, 'running job asked to stop');
      }
      return this.get(id);
    });
  }

  remove(id: string): Promise<'deleted' | 'not-found' | 'running'> {
    return guarded('remove', async () => {
      if (!isJobId(id)) return 'not-found';
      const [outcome, , idempotencyKey] = await runScript<[string, number, string]>(
        this.redis,
        'levinvRemove',
        this.store.jobKeys(id),
        [],
      );
      if (outcome !== 'deleted') return outcome as 'not-found' | 'running';
      await this.store.indexDel([id]);
      if (idempotencyKey) {
        // only if the key still names this job (a later submission may have taken it over)
        const raw = await this.redis.get(idempotencyKey);
        if (raw && (JSON.parse(raw) as IdempotencyRecord).id === id) await this.redis.del(idempotencyKey);
      }
      await this.queue.remove(id);
      this.logger.info({ jobId: id }, 'job deleted');
      return 'deleted';
    });
  }

  /**
   * Newest first. Items carry no `result` (a result holds n leverage scores, so a page of them could be
   * huge); `get` has it. Index entries of expired jobs are dropped on the way.
   */
  list(query: { state?: JobState; limit: number; cursor?: string }): Promise<JobPage> {
    return guarded('list', async () => {
      let max = query.cursor === undefined ? '+inf' : `(${decodeCursor(query.cursor)}`;
      await this.store.prune();
      const key = query.state ? this.keys.index.byState[query.state] : this.keys.index.all;
      const found: { view: JobView; score: number }[] = [];
      const stale: string[] = [];
      const want = query.limit + 1; // one more tells whether there is a next page
      for (;;) {
        const batch = Math.max(want - found.length, 10);
        const raw = await this.redis.zrevrangebyscore(key, max, '-inf', 'WITHSCORES', 'LIMIT', 0, batch);
        if (raw.length === 0) break;
        const ids: string[] = [];
        for (let i = 0; i < raw.length; i += 2) ids.push(raw[i]);
        const pipeline = this.redis.pipeline();
        for (const id of ids) pipeline.hgetall(this.keys.job(id).meta);
        const hashes = await execAll<Record<string, string>[]>(pipeline);
        for (let i = 0; i < ids.length; i++) {
          const meta = parseMeta(hashes[i]);
          const score = Number(raw[2 * i + 1]);
          if (!meta) stale.push(ids[i]);
          else if (query.state && meta.state !== query.state) {
            // a crash between a state change and its index update: repair the index
            await this.store.indexSet(meta.id, meta.state, meta.score);
          } else if (found.length < want) found.push({ view: toView(meta), score });
        }
        max = `(${raw[raw.length - 1]}`;
        if (found.length >= want || raw.length < 2 * batch) break;
      }
      await this.store.indexDel(stale);
      const items = found.slice(0, query.limit);
      const nextCursor = found.length > query.limit ? encodeCursor(items[items.length - 1].score) : null;
      return { items: items.map((f) => f.view), nextCursor };
    });
  }

  async *events(id: string, lastEventId: string | undefined, signal: AbortSignal): AsyncIterable<JobEvent> {
    if (!isJobId(id)) return;
    const k = this.keys.job(id);
    // XRANGE with an exclusive start ("(id") resumes after the client's last event; an id we never issued
    // replays the stream from its start.
    let start = lastEventId && STREAM_ID.test(lastEventId) ? `(${lastEventId}` : '-';
    while (!signal.aborted) {
      // One transaction: if the job is finished and nothing follows `start`, its done event is behind us.
      const [entries, state] = await guarded('events', () =>
        execAll<[[string, string[]][], string | null]>(
          this.redis.multi().xrange(k.events, start, '+', 'COUNT', EVENTS_PAGE).hget(k.meta, 'state'),
        ),
      );
      for (const [eventId, fields] of entries) {
        const event = toEvent(eventId, fields);
        start = `(${eventId}`;
        if (!event) continue;
        yield event;
        if (event.type === 'done' || signal.aborted) return;
      }
      if (entries.length === EVENTS_PAGE) continue;
      if (state === null || (entries.length === 0 && isFinished(state as JobState))) return;
      await sleep(this.pollMs, undefined, { signal }).catch(() => undefined);
    }
  }

  async ping(): Promise<boolean> {
    try {
      const reply = await Promise.race([
        this.redis.ping(),
        sleep(1000).then(() => {
          throw new Error('ping timed out');
        }),
      ]);
      return reply === 'PONG';
    } catch {
      return false;
    }
  }

  stats(): Promise<QueueStats> {
    return guarded('stats', async () => {
      await this.store.prune();
      const pipeline = this.redis.pipeline();
      for (const state of JOB_STATES) pipeline.zcard(this.keys.index.byState[state]);
      pipeline.hgetall(this.keys.solveSeconds);
      const replies = await execAll<unknown[]>(pipeline);
      const byState = Object.fromEntries(JOB_STATES.map((s, i) => [s, Number(replies[i])])) as Record<
        JobState,
        number
      >;
      const histogram = toHistogram(replies[JOB_STATES.length] as Record<string, string>);
      const queueDepth = await this.queue.getJobCountByTypes('waiting', 'prioritized', 'delayed');
      return { byState, queueDepth, solveSeconds: histogram };
    });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.queue.close().catch((error) => this.logger.warn({ err: error }, 'closing the queue'));
      await closeConnection(this.redis);
    })();
    return this.closing;
  }
}

function toEvent(id: string, fields: string[]): JobEvent | null {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i]] = fields[i + 1];
  const type = record.type as JobEvent['type'];
  if (type !== 'state' && type !== 'progress' && type !== 'done') return null;
  return { id, type, data: JSON.parse(record.data ?? 'null') };
}

const stringify = (hash: Record<string, string | number>): Record<string, string> =>
  Object.fromEntries(Object.entries(hash).map(([k, v]) => [k, String(v)]));
