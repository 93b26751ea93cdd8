/**
 * The only writer of a job's keys: every script (scripts.ts) runs from here, and so does every other
 * command that changes a job's keys (the problem blob written in pieces, a job's data deleted, stale
 * index entries dropped). The store (store.ts) and a submission (submission.ts) decide when; this module
 * names the keys and checks each control script's reply against the transition table (transitions.ts).
 * The two reads that need a script (one consistent step over several keys) run from here too.
 */
import type { DeliveryLogKeys, Keys } from './keys.js';
import { execAll, type RedisClient } from './redis.js';
import { runScript, runScriptBuffer, type ScriptArgs, type ScriptKeys } from './scripts.js';
import { type ControlScript, checkReply, type ReplyOf } from './transitions.js';

/** What names a job's control keys. */
export interface JobRef {
  id: string;
  owner: string;
  /** the Redis key of its Idempotency-Key ('' or absent for none) */
  idempotencyKey?: string;
}

/** A control script's arguments, without the id (JobRef has it). */
type ControlArgs<E extends ControlScript> = Omit<ScriptArgs<E>, 'id'>;

/** The problem blob is written in pieces of this size (see writeBlob). */
export const BLOB_CHUNK_BYTES = 1 << 20;

export class JobWriter {
  constructor(
    readonly redis: RedisClient,
    readonly keys: Keys,
  ) {}

  /** Runs control script `event` on the job's control keys. */
  private decide<E extends ControlScript>(event: E, job: JobRef, args: ControlArgs<E>): Promise<unknown> {
    const control = this.keys.controlOf(job.id, job.owner, job.idempotencyKey);
    // FINISH also counts the solve in the histogram (the same slot)
    const keys = event === 'finish' ? { ...control, solveSeconds: this.keys.solveSeconds } : control;
    return runScript(
      this.redis,
      event,
      keys as ScriptKeys<E>,
      { id: job.id, ...args } as unknown as ScriptArgs<E>,
    );
  }

  // ---- control scripts: a job's phase; each reply is checked against the table (transitions.ts)

  async admit(job: JobRef, args: ControlArgs<'admit'>): Promise<[ReplyOf<'admit'>, string]> {
    const [reply, detail] = (await this.decide('admit', job, args)) as [string, string];
    return [checkReply('admit', reply), detail];
  }

  async commit(job: JobRef, args: ControlArgs<'commit'>): Promise<ReplyOf<'commit'>> {
    return checkReply('commit', await this.decide('commit', job, args));
  }

  async release(job: JobRef, args: ControlArgs<'release'>): Promise<ReplyOf<'release'>> {
    return checkReply('release', await this.decide('release', job, args));
  }

  /** Returns the outcome and the state the job had. */
  async start(job: JobRef, args: ControlArgs<'start'>): Promise<[ReplyOf<'start'>, string]> {
    const [reply, previous] = (await this.decide('start', job, args)) as [string, string];
    return [checkReply('start', reply), previous];
  }

  async finish(job: JobRef, args: ControlArgs<'finish'>): Promise<ReplyOf<'finish'>> {
    return checkReply('finish', await this.decide('finish', job, args));
  }

  async requeue(job: JobRef, args: ControlArgs<'requeue'>): Promise<ReplyOf<'requeue'>> {
    return checkReply('requeue', await this.decide('requeue', job, args));
  }

  async stalled(job: JobRef, args: ControlArgs<'stalled'>): Promise<ReplyOf<'stalled'>> {
    return checkReply('stalled', await this.decide('stalled', job, args));
  }

  async cancel(job: JobRef, args: ControlArgs<'cancel'>): Promise<ReplyOf<'cancel'>> {
    return checkReply('cancel', await this.decide('cancel', job, args));
  }

  async remove(job: JobRef, args: ControlArgs<'remove'>): Promise<ReplyOf<'remove'>> {
    return checkReply('remove', await this.decide('remove', job, args));
  }

  async prune(job: JobRef, args: ControlArgs<'prune'>): Promise<ReplyOf<'prune'>> {
    return checkReply('prune', await this.decide('prune', job, args));
  }

  // ---- data scripts: what a run produces (the job's own slot)

  async create(id: string, args: ScriptArgs<'create'>): Promise<number> {
    return (await runScript(this.redis, 'create', this.keys.data(id), args)) as number;
  }

  /** 1, or 0 when the data is gone. */
  async confirm(id: string, args: ScriptArgs<'confirm'>): Promise<number> {
    return (await runScript(this.redis, 'confirm', this.keys.data(id), args)) as number;
  }

  /** The reply with every string as a Buffer (it may carry the problem blob). */
  async dataStart(
    id: string,
    args: ScriptArgs<'dataStart'>,
  ): Promise<[Buffer, Buffer, Buffer, number, number, number, Buffer | undefined]> {
    return (await runScriptBuffer(this.redis, 'dataStart', this.keys.data(id), args)) as [
      Buffer,
      Buffer,
      Buffer,
      number,
      number,
      number,
      Buffer | undefined,
    ];
  }

  /** [the number of recorded iterates (-1: another attempt holds the data), the cancel flag (1/0)] */
  async progress(id: string, args: ScriptArgs<'progress'>): Promise<[number, number]> {
    return (await runScript(this.redis, 'progress', this.keys.data(id), args)) as [number, number];
  }

  async seal(id: string, args: ScriptArgs<'seal'>): Promise<number> {
    return (await runScript(this.redis, 'seal', this.keys.data(id), args)) as number;
  }

  /** [1 (0: another attempt holds the data), the number of recorded iterates] */
  async sealBatch(id: string, args: ScriptArgs<'sealBatch'>): Promise<[number, number]> {
    return (await runScript(this.redis, 'sealBatch', this.keys.data(id), args)) as [number, number];
  }

  async close(id: string, args: ScriptArgs<'close'>): Promise<number> {
    return (await runScript(this.redis, 'close', this.keys.data(id), args)) as number;
  }

  async reset(id: string, args: ScriptArgs<'reset'>): Promise<number> {
    return (await runScript(this.redis, 'reset', this.keys.data(id), args)) as number;
  }

  async flag(id: string, args: ScriptArgs<'flag'>): Promise<number> {
    return (await runScript(this.redis, 'flag', this.keys.data(id), args)) as number;
  }

  async emit(id: string, args: ScriptArgs<'emit'>): Promise<number> {
    return (await runScript(this.redis, 'emit', this.keys.data(id), args)) as number;
  }

  /** False when the job is gone (nothing written). */
  async appendDelivery(id: string, args: ScriptArgs<'appendDelivery'>): Promise<boolean> {
    return appendDelivery(this.redis, this.keys.data(id), args);
  }

  // ---- other changes

  /**
   * The problem blob, SET then APPENDs of at most BLOB_CHUNK_BYTES: ioredis copies every argument into its
   * write buffer, and one 16 MB copy (a 100000 x 20 problem) holds the event loop for tens of ms; in pieces,
   * other requests are served in between. The key has `ttlSeconds` from the first piece on.
   */
  async writeBlob(id: string, blob: Uint8Array, ttlSeconds: number): Promise<void> {
    const key = this.keys.data(id).problem;
    const piece = (at: number): Buffer =>
      asBuffer(blob.subarray(at, Math.min(blob.byteLength, at + BLOB_CHUNK_BYTES)));
    await this.redis.set(key, piece(0), 'EX', ttlSeconds);
    for (let at = BLOB_CHUNK_BYTES; at < blob.byteLength; at += BLOB_CHUNK_BYTES) {
      await this.redis.append(key, piece(at));
    }
  }

  /** Every data key of the job goes (the delivery log included). */
  async deleteData(id: string): Promise<void> {
    await this.redis.del(...Object.values(this.keys.data(id)));
  }

  /** Drops `ids` from the owner's index: entries whose job is gone (its state hash expired before prune). */
  async forgetListed(owner: string, ids: string[]): Promise<void> {
    const index = this.keys.owner(owner);
    const forget = this.redis.multi();
    for (const key of [index.all, ...Object.values(index.byState)]) forget.zrem(key, ...ids);
    await execAll(forget);
  }

  // ---- reads in one step

  /** [progress, resumes, truncated, the iterates count, the result] ('' for none) */
  async read(id: string, withResult: boolean): Promise<[string, string, string, number, string]> {
    return (await runScript(this.redis, 'read', this.keys.data(id), {
      withResult: withResult ? 1 : 0,
    })) as [string, string, string, number, string];
  }

  /** [the entries after `start` (at most `count`), the run hash's `closed` ('' while open), 1 if it exists] */
  async events(id: string, start: string, count: number): Promise<[[string, string[]][], string, number]> {
    return (await runScript(this.redis, 'events', this.keys.data(id), { start, count })) as [
      [string, string[]][],
      string,
      number,
    ];
  }
}

/** A webhook delivery record for the job's log (delivery-log.ts); false when the job is gone. */
export async function appendDelivery(
  redis: RedisClient,
  keys: DeliveryLogKeys,
  args: ScriptArgs<'appendDelivery'>,
): Promise<boolean> {
  return (await runScript(redis, 'appendDelivery', keys, args)) === 1;
}

/** The bytes as a Buffer, not copied. */
export const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
