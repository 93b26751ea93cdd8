/**
 * Every Redis key the job layer uses, in one place. All keys start with the configured prefix. A job's own
 * keys share the hash tag `{<id>}` (one Redis Cluster slot, so a Lua script may touch them together); the
 * cross-job index keys share `{jobs}`, and BullMQ's keys share `{bullmq}` (BullMQ needs one slot per queue).
 */
import { randomUUID } from 'node:crypto';
import { JOB_STATES, type JobState } from './types.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const newJobId = (): string => randomUUID();

/** Ids come from URLs: anything that is not one of ours must never reach a key name. */
export const isJobId = (id: string): boolean => UUID.test(id);

/** The keys of one job, in the order the Lua scripts expect them (scripts.ts: KEYS[1..6]). */
export interface JobKeys {
  meta: string;
  problem: string;
  iterates: string;
  result: string;
  cancel: string;
  events: string;
}

export const jobKeyList = (k: JobKeys): string[] => [
  k.meta,
  k.problem,
  k.iterates,
  k.result,
  k.cancel,
  k.events,
];

/** The cross-job keys, in the order the index scripts expect them (all, one per state, expiry, seq). */
export interface IndexKeys {
  all: string;
  byState: Record<JobState, string>;
  /** member id, score = when its job's keys expire (ms): lets the index forget expired jobs */
  expiry: string;
  /** a counter that breaks ties between jobs created in the same millisecond */
  seq: string;
}

export const indexKeyList = (k: IndexKeys): string[] => [
  k.all,
  ...JOB_STATES.map((s) => k.byState[s]),
  k.expiry,
  k.seq,
];

export class Keys {
  readonly index: IndexKeys;
  /** histogram of solve wall times (hash: one field per bucket, plus sum and count) */
  readonly solveSeconds: string;
  /** the `prefix` option of every BullMQ Queue and Worker */
  readonly bullPrefix: string;

  constructor(readonly prefix: string) {
    const tag = `${prefix}:{jobs}`;
    this.index = {
      all: `${tag}:all`,
      byState: Object.fromEntries(JOB_STATES.map((s) => [s, `${tag}:state:${s}`])) as Record<
        JobState,
        string
      >,
      expiry: `${tag}:expiry`,
      seq: `${tag}:seq`,
    };
    this.solveSeconds = `${tag}:solve-seconds`;
    this.bullPrefix = `${prefix}:{bullmq}`;
  }

  job(id: string): JobKeys {
    const base = `${this.prefix}:job:{${id}}`;
    return {
      meta: `${base}:meta`,
      problem: `${base}:problem`,
      iterates: `${base}:iterates`,
      result: `${base}:result`,
      cancel: `${base}:cancel`,
      events: `${base}:events`,
    };
  }

  /** The client's Idempotency-Key is hashed: it may hold any characters, including braces. */
  idempotency(keyDigest: string): string {
    return `${this.prefix}:{jobs}:idempotency:${keyDigest}`;
  }
}
