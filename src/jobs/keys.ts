/**
 * Every Redis key the job layer uses, in one place. All keys start with the configured prefix.
 *
 * Two kinds of slot (Redis Cluster hash tags), and every script or transaction touches keys of one:
 * - the control slot, `{bullmq}`, shared with BullMQ's queue: each job's state hash (the one owner of its
 *   state, owner, timestamps and attempt) and the indexes over jobs (by state, per owner, by expiry, the
 *   Idempotency-Keys). A state change and its index entries change in one script.
 * - a job's data slot, `{<id>}`: its bulk data (problem blob, iterates, result, event stream) and what its
 *   running attempt writes along with them (the `run` hash: checkpoint, progress, resumes; the cancel flag).
 *   These spread over the cluster, one job per slot.
 */
import { createHash, randomUUID } from 'node:crypto';
import { JOB_STATES, type JobState } from './job-record.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const newJobId = (): string => randomUUID();

/** Ids come from URLs: anything that is not one of ours must never reach a key name. */
export const isJobId = (id: string): boolean => UUID.test(id);

/** The data keys a data script takes (lua/: problemKey, iteratesKey, ...; their order: scripts.ts). */
export interface DataKeys {
  problem: string;
  iterates: string;
  result: string;
  events: string;
  /** hash (job-record.ts RUN_FIELDS): the running attempt's token, checkpoint, progress, resumes, ... */
  run: string;
  cancel: string;
}

/** All of a job's data keys: the scripts' and the webhook delivery log. */
export interface JobDataKeys extends DataKeys {
  /** list: the webhook delivery log (src/webhooks/delivery-log.ts) */
  deliveries: string;
}

/** The keys of the delivery log's one script: the list, and the run hash whose TTL it takes. */
export type DeliveryLogKeys = Pick<JobDataKeys, 'deliveries' | 'run'>;

/** The control-slot keys a job's state change touches (lua/: stateKey, allKey, byStateKeys, ...). */
export interface ControlKeys {
  /** the job's state hash (job-record.ts STATE_FIELDS) */
  state: string;
  all: string;
  byState: Record<JobState, string>;
  /** member id, score = when the job expires (ms): prune deletes what has */
  expiry: string;
  ownerAll: string;
  ownerByState: Record<JobState, string>;
  /** the owner's submissions admitted but not yet listed (score: when the reservation lapses, ms) */
  ownerPending: string;
  /** the job's Idempotency-Key (a key nothing uses when it has none) */
  idempotency: string;
  /** a counter that breaks ties between jobs created in the same millisecond */
  seq: string;
}

/** FINISH's keys: it also counts the solve in the histogram. */
export interface FinishKeys extends ControlKeys {
  solveSeconds: string;
}

/** One owner's index: what list() pages and what the quota counts. */
export interface OwnerKeys {
  all: string;
  byState: Record<JobState, string>;
  /** submissions admitted but not yet listed (score: when the reservation lapses, ms) */
  pending: string;
}

const byStateUnder = (base: string): Record<JobState, string> =>
  Object.fromEntries(JOB_STATES.map((s) => [s, `${base}:state:${s}`])) as Record<JobState, string>;

export class Keys {
  /** the control slot's key names start with it (`<prefix>:jobs:{bullmq}`) */
  readonly control: string;
  readonly all: string;
  readonly byState: Record<JobState, string>;
  readonly expiry: string;
  readonly seq: string;
  /** histogram of solve wall times (hash: one field per bucket, plus sum and count) */
  readonly solveSeconds: string;
  /** the `prefix` option of every BullMQ Queue and Worker (the same `{bullmq}` tag: the same slot) */
  readonly bullPrefix: string;

  constructor(readonly prefix: string) {
    // Not under bullPrefix itself: BullMQ owns every name there (`<bullPrefix>:<queue>:...`).
    this.control = `${prefix}:jobs:{bullmq}`;
    this.all = `${this.control}:all`;
    this.byState = byStateUnder(this.control);
    this.expiry = `${this.control}:expiry`;
    this.seq = `${this.control}:seq`;
    this.solveSeconds = `${this.control}:solve-seconds`;
    this.bullPrefix = `${prefix}:{bullmq}`;
  }

  /** The job's state hash (control slot). */
  state(id: string): string {
    return `${this.control}:job:${id}`;
  }

  data(id: string): JobDataKeys {
    const base = `${this.prefix}:job:{${id}}`;
    return {
      problem: `${base}:problem`,
      iterates: `${base}:iterates`,
      result: `${base}:result`,
      events: `${base}:events`,
      run: `${base}:run`,
      cancel: `${base}:cancel`,
      deliveries: `${base}:deliveries`,
    };
  }

  /** An owner's index. Owner names are hashed: they may hold any characters, including braces. */
  owner(owner: string): OwnerKeys {
    const base = `${this.control}:owner:${digest(owner)}`;
    return { all: `${base}:all`, byState: byStateUnder(base), pending: `${base}:pending` };
  }

  /** The client's Idempotency-Key, scoped to its owner (hashed together: either may hold any character). */
  idempotency(owner: string, key: string): string {
    return `${this.control}:idempotency:${digest(`${owner}\u0000${key}`)}`;
  }

  /** The control keys of a change to job `id` of `owner`; `idempotency` is the job's key, if it has one. */
  controlOf(id: string, owner: string, idempotency?: string): ControlKeys {
    const index = this.owner(owner);
    return {
      state: this.state(id),
      all: this.all,
      byState: this.byState,
      expiry: this.expiry,
      ownerAll: index.all,
      ownerByState: index.byState,
      ownerPending: index.pending,
      idempotency: idempotency || `${this.control}:idempotency:none`,
      seq: this.seq,
    };
  }
}

const digest = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 32);
