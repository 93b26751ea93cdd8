/**
 * The producer side of the job layer, what the API uses: JobService over one fail-fast Redis connection
 * (shared with the BullMQ Queue, which only ever adds and removes jobs). Every job belongs to an owner
 * (the API key's name): reads and changes by anyone else find nothing, and list() pages the owner's own
 * index. Submission (all or nothing, with the owner's quota) is submission.ts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Cluster } from 'ioredis';
import { type Logger, pino } from 'pino';
import { DEFAULT_JOB_LIMITS, recordLimit } from '../limits/job-limits.js';
import { queueTelemetry } from '../telemetry/instrumentation.js';
import { toHistogram } from './histogram.js';
import { JobEvents, type JobListenerFactory } from './job-events.js';
import { VIEW_RUN_FIELDS } from './job-record.js';
import { isJobId, Keys } from './keys.js';
import { redactRedisUrl, safeLogger } from './log-safety.js';
import { DEFAULT_QUEUE_NAME, QUEUE_EVENTS_MAX_LEN, type SolveJobData } from './queue.js';
import { decodeIterate } from './records.js';
import {
  closeConnection,
  connect,
  execAll,
  guarded,
  PRODUCER_OPTIONS,
  type RedisClient,
  waitReady,
} from './redis.js';
import { type JobMeta, JobStore, parseMeta, toView } from './store.js';
import { Submissions } from './submission.js';
import {
  isFinished,
  JOB_STATES,
  type JobEvent,
  type JobPage,
  type JobResult,
  type JobService,
  type JobState,
  type JobView,
  type Owner,
  type QueueStats,
  type SubmitInput,
  type SubmitOutcome,
} from './types.js';
import { Latch, Wakeups } from './wakeups.js';

export interface JobServiceOptions {
  redisUrl: string;
  keyPrefix: string;
  jobTtlSeconds: number;
  queueName?: string;
  logger?: Logger;
  /** how long create waits for the first connection before answering anyway (then 503s until Redis is up) */
  connectWaitMs?: number;
  /**
   * how often a live event stream (and a `Prefer: wait`) reads its job's events unwoken (default 15 s):
   * every event write wakes them by push (wakeups.ts); this safety read only catches a wake-up lost while
   * the subscriber reconnected
   */
  eventsPollMs?: number;
  /** how long an incomplete submission's keys live (default 120 s) */
  provisionalTtlSeconds?: number;
  /** the workers' MAX_RECORDED_ITERATES, shown as a queued job's iterates.limit (default 10000) */
  maxRecordedIterates?: number;
  /** the Redis command timeout (default 10 s: one command may carry a problem blob of tens of MB) */
  commandTimeoutMs?: number;
  /** told when a job of this process finishes (a queued job's cancel): e.g. the webhooks (src/main wires them) */
  listeners?: readonly JobListenerFactory[];
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

const PRUNE_EVERY_MS = 60_000;
const STREAM_ID = /^\d{1,20}-\d{1,20}$/;
const EVENTS_PAGE = 200;

export async function createJobService(opts: JobServiceOptions): Promise<JobService> {
  const logger = safeLogger(opts.logger ?? pino({ level: 'silent' }), opts.redisUrl);
  const redis = connect(
    opts.redisUrl,
    { ...PRODUCER_OPTIONS, commandTimeout: opts.commandTimeoutMs ?? PRODUCER_OPTIONS.commandTimeout },
    (error) => logger.warn({ err: error }, 'job store connection error'),
    'levinv-api',
  );
  if (!(await waitReady(redis, opts.connectWaitMs ?? 5000))) {
    logger.warn(
      { redis: redactRedisUrl(opts.redisUrl) },
      'Redis does not answer yet; the job store reports unavailable',
    );
  }
  return new RedisJobService(redis, opts, logger);
}

class RedisJobService implements JobService {
  private readonly store: JobStore;
  private readonly keys: Keys;
  private readonly queue: Queue<SolveJobData>;
  /** this process's job listeners: a queued job's cancel finishes it here */
  private readonly lifecycle: JobEvents;
  private readonly submissions: Submissions;
  private readonly pollMs: number;
  /** this process's one subscriber: wakes the open event streams of a job when its scripts write events */
  private readonly wakeups: Wakeups;
  private closing: Promise<void> | undefined;
  /** deletes expired jobs in the background (reads never write) */
  private readonly pruner: NodeJS.Timeout;
  /** index entries list() found without their job, forgotten by the pruner */
  private readonly staleListed = new Map<Owner, Set<string>>();

  constructor(
    private readonly redis: RedisClient,
    opts: JobServiceOptions,
    private readonly logger: Logger,
  ) {
    this.keys = new Keys(opts.keyPrefix);
    this.store = new JobStore(redis, this.keys, opts.jobTtlSeconds);
    // Events are pushed; the poll only catches a wake-up lost while the subscriber reconnected.
    this.pollMs = opts.eventsPollMs ?? 15_000;
    this.wakeups = new Wakeups(opts.redisUrl, 'levinv-api-wakeups', logger);
    this.queue = new Queue<SolveJobData>(opts.queueName ?? DEFAULT_QUEUE_NAME, {
      connection: redis,
      prefix: this.keys.bullPrefix,
      // Never wait for a connection or ask for the server version: either would hang or poison the Queue
      // while Redis is down; commands fail fast on our connection instead.
      skipWaitingForReady: true,
      skipVersionCheck: true,
      streams: { events: { maxLen: QUEUE_EVENTS_MAX_LEN } },
      ...queueTelemetry(),
    });
    this.queue.on('error', (error) => this.logger.warn({ err: error }, 'queue error'));
    this.lifecycle = new JobEvents(opts.listeners ?? [], {
      redisUrl: opts.redisUrl,
      redis,
      keys: this.keys,
      store: this.store,
      logger,
    });
    this.pruner = setInterval(() => {
      this.prune().catch((error) => this.logger.debug({ err: error }, 'prune'));
    }, PRUNE_EVERY_MS).unref();
    this.submissions = new Submissions(
      redis,
      this.store,
      this.queue,
      {
        ttlSeconds: opts.jobTtlSeconds,
        provisionalTtlSeconds: opts.provisionalTtlSeconds ?? 120,
        recordLimit: recordLimit({
          maxRecordedIterates: opts.maxRecordedIterates ?? DEFAULT_JOB_LIMITS.maxRecordedIterates,
        }),
      },
      logger,
    );
  }

  submit(input: SubmitInput): Promise<SubmitOutcome> {
    return guarded('submit', () => this.submissions.submit(input));
  }

  exists(id: string, owner: Owner): Promise<boolean> {
    return guarded('exists', async () => (await this.visible(id, owner)) !== null);
  }

  /** The job and its iterates count if `owner` may see it; null as if absent otherwise. */
  private async visible(id: string, owner: Owner): Promise<{ meta: JobMeta; recorded: number } | null> {
    if (!isJobId(id)) return null;
    const found = await this.store.readJob(id);
    return found && canSee(found.meta, owner) ? { meta: found.meta, recorded: found.data.recorded } : null;
  }

  get(id: string, owner: Owner): Promise<JobView | null> {
    return guarded('get', async () => {
      if (!isJobId(id)) return null;
      const found = await this.store.readJob(id, true);
      if (!found || !canSee(found.meta, owner)) return null;
      const { result, recorded } = found.data;
      return toView(found.meta, recorded, result ? (JSON.parse(result) as JobResult) : undefined);
    });
  }

  iterates(id: string, owner: Owner, offset: number, limit: number) {
    return guarded('iterates', async () => {
      if (!isJobId(id)) return null;
      // the state (who may see it) and the page, in parallel: two slots
      const [state, items] = await Promise.all([
        this.store.readState(id),
        this.redis.lrange(this.keys.data(id).iterates, offset, offset + limit - 1),
      ]);
      if (!state || !canSee(parseMeta(state), owner)) return null;
      return { items: items.map(decodeIterate), nextOffset: offset + items.length };
    });
  }

  deliveries(id: string, owner: Owner) {
    return guarded('deliveries', async () => {
      if (!isJobId(id)) return null;
      const [state, items] = await Promise.all([this.store.readState(id), this.store.readDeliveries(id)]);
      if (!state || !canSee(parseMeta(state), owner)) return null;
      return items;
    });
  }

  cancel(id: string, owner: Owner): Promise<JobView | null> {
    return guarded('cancel', async () => {
      const found = await this.visible(id, owner);
      if (!found) return null;
      if (isFinished(found.meta.state)) return this.get(id, owner);
      const outcome = await this.store.cancel(found.meta, found.recorded, Date.now());
      if (outcome === 'missing') return null;
      if (outcome === 'cancelled') {
        this.logger.info({ jobId: id }, 'queued job cancelled');
        // Saves a worker the trip; if one has already taken it, its start sees `cancelled` and skips it.
        await this.queue.remove(id).catch((error) => this.logger.debug({ err: error, jobId: id }, 'remove'));
      } else if (outcome === 'flagged') {
        this.logger.info({ jobId: id }, 'running job asked to stop');
      }
      return this.get(id, owner);
    });
  }

  remove(id: string, owner: Owner): Promise<'deleted' | 'not-found' | 'running'> {
    return guarded('remove', async () => {
      if (!isJobId(id)) return 'not-found';
      const outcome = await this.store.remove(id, owner);
      if (outcome !== 'deleted') return outcome;
      await this.queue.remove(id);
      this.logger.info({ jobId: id }, 'job deleted');
      return 'deleted';
    });
  }

  /**
   * Newest first. Items carry no `result` (a result holds n leverage scores, so a page of them could be
   * huge); `get` has it. Entries whose job is gone (its state hash expired before prune came by) are
   * dropped on the way.
   */
  list(query: { owner: Owner; state?: JobState; limit: number; cursor?: string }): Promise<JobPage> {
    return guarded('list', async () => {
      let max = query.cursor === undefined ? '+inf' : `(${decodeCursor(query.cursor)}`;
      const index = this.keys.owner(query.owner);
      const key = query.state ? index.byState[query.state] : index.all;
      const found: { view: JobView; score: number }[] = [];
      const stale: string[] = [];
      const want = query.limit + 1; // one more tells whether there is a next page
      const now = Date.now();
      for (;;) {
        const batch = Math.max(want - found.length, 10);
        const raw = await this.redis.zrevrangebyscore(key, max, '-inf', 'WITHSCORES', 'LIMIT', 0, batch);
        if (raw.length === 0) break;
        const ids: string[] = [];
        for (let i = 0; i < raw.length; i += 2) ids.push(raw[i]);
        // The states share the index's slot: one pipeline. The data is one pipeline per job (each job's
        // data has a slot of its own; ioredis writes them all before the first reply arrives).
        const states = this.redis.pipeline();
        for (const id of ids) states.hgetall(this.keys.state(id));
        const [hashes, data] = await Promise.all([
          execAll<Record<string, string>[]>(states),
          Promise.all(
            ids.map((id) => {
              const k = this.keys.data(id);
              return execAll<[(string | null)[], number]>(
                this.redis
                  .pipeline()
                  .hmget(k.run, ...VIEW_RUN_FIELDS)
                  .llen(k.iterates),
              );
            }),
          ),
        ]);
        for (let i = 0; i < ids.length; i++) {
          const [run, recorded] = data[i];
          const meta = parseMeta(hashes[i], run);
          if (!meta || meta.owner !== query.owner) stale.push(ids[i]);
          else if (meta.expiresAt <= now) continue;
          else if (found.length < want)
            found.push({ view: toView(meta, recorded), score: Number(raw[2 * i + 1]) });
        }
        max = `(${raw[raw.length - 1]}`;
        if (found.length >= want || raw.length < 2 * batch) break;
      }
      if (stale.length > 0) this.forgetLater(query.owner, stale);
      const items = found.slice(0, query.limit);
      const nextCursor = found.length > query.limit ? encodeCursor(items[items.length - 1].score) : null;
      return { items: items.map((f) => f.view), nextCursor };
    });
  }

  async waitUntilDone(
    id: string,
    owner: Owner,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<JobView | null> {
    if (!(await guarded('wait', () => this.visible(id, owner)))) return null;
    const k = this.keys.data(id);
    const deadline = Date.now() + timeoutMs;
    // As an event stream: follow first, then read; CLOSE sets `closed` with the done event it announces.
    const latch = new Latch();
    const follow = this.wakeups.follow(k.events, latch.wake);
    try {
      await follow.ready;
      for (;;) {
        latch.reset();
        const closed = await guarded('wait', () => this.redis.hget(k.run, 'closed'));
        const left = deadline - Date.now();
        if (closed !== null || left <= 0 || signal.aborted) break;
        await latch.wait(Math.min(left, this.pollMs), signal);
      }
    } finally {
      follow.stop();
    }
    return this.get(id, owner);
  }

  async *events(
    id: string,
    owner: Owner,
    lastEventId: string | undefined,
    signal: AbortSignal,
  ): AsyncIterable<JobEvent> {
    if (!(await guarded('events', () => this.visible(id, owner)))) return;
    const k = this.keys.data(id);
    // XRANGE with an exclusive start ("(id") resumes after the client's last event; an id we never issued
    // replays the stream from its start.
    const start = lastEventId && STREAM_ID.test(lastEventId) ? `(${lastEventId}` : '-';
    // Follow first, read second: an event written after the first read is then announced to us. The stream
    // stays the truth; a wake-up only says "read again", and the slow poll covers a missed one.
    const latch = new Latch();
    const follow = this.wakeups.follow(k.events, latch.wake);
    try {
      await follow.ready;
      yield* this.readEvents(id, start, latch, signal);
    } finally {
      follow.stop();
    }
  }

  private async *readEvents(
    id: string,
    from: string,
    latch: Latch,
    signal: AbortSignal,
  ): AsyncIterable<JobEvent> {
    let start = from;
    while (!signal.aborted) {
      latch.reset();
      // One script (atomic, as a transaction): if the job is closed (CLOSE wrote its done event) and nothing follows `start`, its
      // done event is behind us; if its run hash is gone, so is the job.
      const [entries, closedField, exists] = await guarded('events', () =>
        this.store.readEvents(id, start, EVENTS_PAGE),
      );
      const closed = closedField === '' ? null : closedField;
      for (const [eventId, fields] of entries) {
        const event = toEvent(eventId, fields);
        start = `(${eventId}`;
        if (!event) continue;
        yield event;
        if (event.type === 'done' || signal.aborted) return;
      }
      if (entries.length === EVENTS_PAGE) continue;
      if (exists === 0 || (entries.length === 0 && closed !== null)) return;
      await latch.wait(this.pollMs, signal);
    }
  }

  /**
   * True when Redis answers. On a Cluster a PING goes to any one node and is answered even while the
   * cluster refuses every key (CLUSTERDOWN) or the master of `{bullmq}` (the jobs' states and the queue) is
   * away, so there it is a keyed read on that slot instead.
   */
  async ping(): Promise<boolean> {
    try {
      const probe =
        this.redis instanceof Cluster
          ? this.redis.exists(this.keys.all).then(() => 'PONG')
          : this.redis.ping();
      const reply = await Promise.race([
        probe,
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
      const pipeline = this.redis.pipeline();
      for (const state of JOB_STATES) pipeline.zcard(this.keys.byState[state]);
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

  async prune(): Promise<void> {
    await this.store.prune();
    const stale = [...this.staleListed];
    this.staleListed.clear();
    for (const [owner, ids] of stale) await this.store.forgetListed(owner, [...ids]);
  }

  private forgetLater(owner: Owner, ids: string[]): void {
    const set = this.staleListed.get(owner) ?? new Set<string>();
    // bounded: a flood of stale entries waits for prune, which removes them with their jobs anyway
    for (const id of ids) if (set.size < 10_000) set.add(id);
    this.staleListed.set(owner, set);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.pruner);
      await this.queue.close().catch((error) => this.logger.warn({ err: error }, 'closing the queue'));
      await this.lifecycle.close();
      await this.wakeups.close();
      await closeConnection(this.redis);
    })();
    return this.closing;
  }
}

/** A job is visible to its owner once its submission completed; to nobody else, ever. */
const canSee = (meta: JobMeta | null, owner: Owner): meta is JobMeta =>
  meta !== null && meta.owner === owner && !meta.provisional;

function toEvent(id: string, fields: string[]): JobEvent | null {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i]] = fields[i + 1];
  const type = record.type as JobEvent['type'];
  if (type !== 'state' && type !== 'progress' && type !== 'done') return null;
  return { id, type, data: JSON.parse(record.data ?? 'null') };
}
