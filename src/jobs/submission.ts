/**
 * Submission, all or nothing. Under overload any step may fail (a command timeout, a dropped connection,
 * the process dying), so the steps (transitions.ts CHANGES.submit) go in an order whose every prefix
 * leaves either nothing that is listed or a complete job:
 *
 * 1. CREATE, the job's data (problem blob, run hash, event stream) with a provisional TTL (minutes): a
 *    crash from here on leaves keys that expire soon and that nothing lists;
 * 2. ADMIT, atomically on the control slot: the owner's quota (queued + running + admitted), the
 *    Idempotency-Key, and the job's state hash, provisional (not listed, not visible, expiring with the
 *    provisional TTL);
 * 3. the BullMQ job (its id is the job id, so adding twice is harmless);
 * 4. CONFIRM: the data gets the full TTL (a worker's DATA_START does the same, should it be first);
 * 5. COMMIT: listed as queued with the full TTL (unless a worker has listed it running).
 *
 * A failure after step 1 rolls back what it can (the BullMQ job, the data, RELEASE of the state and the
 * reservation); what a rollback cannot reach expires with the provisional TTL. A retry with the same
 * Idempotency-Key completes a provisional job instead of making another (steps 3-5 are idempotent).
 */
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { StateField, StateHash } from './job-record.js';
import { asBuffer, BLOB_CHUNK_BYTES, type JobRef } from './job-writer.js';
import { newJobId } from './keys.js';
import { encodeProblem } from './problem-blob.js';
import { JOB_NAME, jobOptions, type SolveJobData } from './queue.js';
import { execAll, type RedisClient } from './redis.js';
import { EVENTS_MAX_LEN, type JobMeta, type JobStore, parseMeta, stateEvent, toView } from './store.js';
import {
  IdempotencyConflictError,
  QuotaExceededError,
  type SubmitInput,
  type SubmitOutcome,
} from './types.js';

export interface SubmissionConfig {
  ttlSeconds: number;
  /** how long an incomplete submission's keys live */
  provisionalTtlSeconds: number;
  /** iterates kept per job, as the workers are configured (shown until a worker takes the job) */
  recordLimit: number;
}

interface Idempotency {
  key: string;
  name: string;
  fingerprint: string;
  /** what the key holds while it names this submission's job */
  record: string;
}

interface IdempotencyRecord {
  id: string;
  fingerprint: string;
}

export class Submissions {
  constructor(
    private readonly redis: RedisClient,
    private readonly store: JobStore,
    private readonly queue: Queue<SolveJobData>,
    private readonly config: SubmissionConfig,
    private readonly logger: Logger,
  ) {}

  async submit(input: SubmitInput): Promise<SubmitOutcome> {
    const { owner } = input;
    const keys = this.store.keys;
    const id = newJobId();
    const idempotency: Idempotency | undefined =
      input.idempotencyKey === undefined
        ? undefined
        : {
            key: keys.idempotency(owner, input.idempotencyKey),
            name: input.idempotencyKey,
            fingerprint: input.fingerprint ?? '',
            record: JSON.stringify({ id, fingerprint: input.fingerprint ?? '' } satisfies IdempotencyRecord),
          };
    // The common retry: the first submission is long done; answer without writing the problem again.
    if (idempotency) {
      const earlier = await this.match(idempotency, owner, await this.redis.get(idempotency.key));
      if (earlier) return { job: earlier, created: false };
    }
    // Refuse before writing megabytes; ADMIT checks again, atomically.
    const limit = input.maxActiveJobs ?? 0;
    if (limit > 0) {
      const active = await this.activeJobs(owner);
      if (active >= limit) throw new QuotaExceededError(limit, active);
    }

    const now = Date.now();
    const { problem, options, xStar } = input;
    const state: Partial<Record<StateField, string | number>> = {
      id,
      owner,
      state: 'queued',
      method: options.method ?? 'newton',
      n: problem.n,
      d: problem.d,
      createdAt: now,
      options: JSON.stringify(options),
      fingerprint: idempotency?.fingerprint ?? '',
      attempts: 0,
      recordLimit: this.config.recordLimit,
    };
    if (idempotency) state.idempotencyKey = idempotency.key;
    if (input.webhook) state.webhook = JSON.stringify(input.webhook);
    const writer = this.store.writer;
    const provisional = this.config.provisionalTtlSeconds;
    try {
      const blob = input.blob ?? encodeProblem(problem, xStar);
      // a blob of one piece goes in the same call as the rest (CREATE): one round trip
      const inline = blob.byteLength <= BLOB_CHUNK_BYTES;
      if (!inline) await writer.writeBlob(id, blob, provisional);
      await writer.create(id, {
        provisionalTtl: provisional,
        maxlen: EVENTS_MAX_LEN,
        event: stateEvent('queued'),
        blob: inline ? asBuffer(blob) : '',
      });
    } catch (error) {
      // a timeout does not say whether the write happened: what did expires with the provisional TTL
      await this.discard(id);
      throw error;
    }

    let replace = '';
    let score = '';
    for (let tries = 0; ; tries++) {
      const [outcome, detail] = await this.admit(id, owner, limit, idempotency, replace, state).catch(
        async (error: unknown) => {
          await this.rollback(id, owner, idempotency);
          throw error;
        },
      );
      if (outcome === 'ok') {
        score = detail;
        break;
      }
      if (outcome === 'quota') {
        await this.discard(id);
        throw new QuotaExceededError(limit, Number(detail));
      }
      // 'taken': a concurrent or earlier submission holds the key: it is the job, or a conflict
      const earlier = await this.match(idempotency!, owner, detail).catch(async (error: unknown) => {
        await this.discard(id);
        throw error;
      });
      if (earlier) {
        await this.discard(id);
        return { job: earlier, created: false };
      }
      // the earlier job is gone (deleted or expired): the key is ours if nobody changes it meanwhile
      if (tries >= 3) {
        await this.discard(id);
        throw new Error('the Idempotency-Key keeps changing hands: try again');
      }
      replace = detail;
    }

    try {
      await this.complete(id, owner, idempotency);
    } catch (error) {
      await this.rollback(id, owner, idempotency);
      throw error;
    }
    this.logger.info({ jobId: id, n: problem.n, d: problem.d, method: state.method }, 'job queued');
    const meta = parseMeta(stringify({ ...state, score }), []) as JobMeta;
    return { job: toView(meta, 0), created: true };
  }

  /** The owner's jobs queued, running or admitted (a read: ADMIT decides). */
  private async activeJobs(owner: string): Promise<number> {
    const o = this.store.keys.owner(owner);
    const [queued, running, pending] = await execAll<[number, number, number]>(
      this.redis
        .pipeline()
        .zcard(o.byState.queued)
        .zcard(o.byState.running)
        .zcount(o.pending, Date.now(), '+inf'),
    );
    return queued + running + pending;
  }

  private admit(
    id: string,
    owner: string,
    limit: number,
    idempotency: Idempotency | undefined,
    replace: string,
    state: Partial<Record<StateField, string | number>>,
  ) {
    return this.store.writer.admit(jobRef(id, owner, idempotency), {
      maxActive: limit,
      now: Date.now(),
      provisionalTtl: this.config.provisionalTtlSeconds,
      idempotencyRecord: idempotency?.record ?? '',
      replaceRecord: replace,
      ttl: this.config.ttlSeconds,
      fields: Object.entries(state).flat() as (string | number)[],
    });
  }

  /** Steps 3-5: queued in BullMQ, full TTL, listed. Idempotent. Throws when the job is gone. */
  private async complete(
    id: string,
    owner: string,
    idempotency: { key: string; record: string } | undefined,
  ): Promise<void> {
    const { ttlSeconds } = this.config;
    await this.queue.add(JOB_NAME, { jobId: id }, jobOptions(id, ttlSeconds));
    const writer = this.store.writer;
    const confirmed = await writer.confirm(id, { ttl: this.store.dataTtlSeconds });
    if (confirmed !== 1) throw new VanishedError(id);
    const state = await writer.commit(jobRef(id, owner, idempotency), {
      now: Date.now(),
      ttl: ttlSeconds,
      idempotencyRecord: idempotency?.record ?? '',
    });
    if (state === '') throw new VanishedError(id);
  }

  /**
   * The job an Idempotency-Key's record names, null when there is none (or it is gone); throws on another
   * fingerprint. A provisional job (its submission still running, or dead) is completed here.
   */
  private async match(idempotency: Idempotency, owner: string, raw: string | null) {
    if (raw === null) return null;
    const record = JSON.parse(raw) as IdempotencyRecord;
    const found = await this.store.readJob(record.id);
    if (!found || found.meta.owner !== owner) return null;
    if (record.fingerprint !== idempotency.fingerprint) throw new IdempotencyConflictError(idempotency.name);
    if (found.meta.provisional) {
      try {
        await this.complete(record.id, owner, { key: idempotency.key, record: raw });
      } catch (error) {
        if (error instanceof VanishedError) return null;
        throw error;
      }
    }
    const current = (await this.store.readJob(record.id)) ?? found;
    return toView({ ...current.meta, provisional: false }, current.data.recorded);
  }

  /** Deletes a submission's data (nothing else of it exists yet); best effort, its TTL does the rest. */
  private async discard(id: string): Promise<void> {
    await this.store.writer.deleteData(id).catch(() => undefined);
  }

  /** Undoes a submission that failed after ADMIT; best effort, the provisional TTL does the rest. */
  private async rollback(id: string, owner: string, idempotency: Idempotency | undefined): Promise<void> {
    await this.queue.remove(id).catch((error) => this.logger.debug({ err: error, jobId: id }, 'rollback'));
    await this.discard(id);
    await this.store.writer
      .release(jobRef(id, owner, idempotency), { idempotencyRecord: idempotency?.record ?? '' })
      .catch((error) => this.logger.debug({ err: error, jobId: id }, 'rollback'));
  }
}

/** The job's keys expired or were rolled back before its submission completed. */
class VanishedError extends Error {
  constructor(id: string) {
    super(`job ${id} vanished before its submission completed`);
    this.name = 'VanishedError';
  }
}

const stringify = (hash: Partial<Record<StateField, string | number>>): StateHash =>
  Object.fromEntries(Object.entries(hash).map(([k, v]) => [k, String(v)]));

const jobRef = (id: string, owner: string, idempotency: { key: string } | undefined): JobRef => ({
  id,
  owner,
  idempotencyKey: idempotency?.key,
});
