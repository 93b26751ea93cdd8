/**
 * Every Redis key the job layer uses, in one place. All keys start with the configured prefix. A job's own
 * keys share the hash tag `{<id>}` (one Redis Cluster slot, so a Lua script may touch them together); the
 * cross-job index keys share `{jobs}`, and BullMQ's keys share `{bullmq}` (BullMQ needs one slot per queue).
 */
import { createHash, randomUUID } from 'node:crypto';
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

/** The cross-job keys (all in the `{jobs}` slot). */
export interface IndexKeys {
  all: string;
  byState: Record<JobState, string>;
  /** member id, score = when its job's keys expire (ms): lets the index forget expired jobs */
  expiry: string;
  /** a counter that breaks ties between jobs created in the same millisecond */
  seq: string;
  /** hash id -> the job's owner index base (prune finds the owner's sets through it) */
  owners: string;
  /** hash id -> the job's version last mirrored: an index update older than it is ignored */
  versions: string;
}

/** One owner's index: what list() pages and what the quota counts. */
export interface OwnerKeys {
  /** key names of this owner's sets start with it (`<base>:all`, `<base>:state:<s>`, `<base>:pending`) */
  base: string;
  all: string;
  byState: Record<JobState, string>;
  /** submissions admitted but not yet indexed (score: when the reservation lapses, ms) */
  pending: string;
}

/** The index scripts' KEYS (scripts.ts): global 1-10, the owner's 11-17, then an idempotency key. */
export const indexKeyList = (k: IndexKeys, o: OwnerKeys, idempotency?: string): string[] => {
  const list = [
    k.all,
    ...JOB_STATES.map((s) => k.byState[s]),
    k.expiry,
    k.seq,
    k.owners,
    k.versions,
    o.all,
    ...JOB_STATES.map((s) => o.byState[s]),
    o.pending,
  ];
  if (idempotency) list.push(idempotency);
  return list;
};

const byStateUnder = (base: string): Record<JobState, string> =>
  Object.fromEntries(JOB_STATES.map((s) => [s, `${base}:state:${s}`])) as Record<JobState, string>;

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
      byState: byStateUnder(tag),
      expiry: `${tag}:expiry`,
      seq: `${tag}:seq`,
      owners: `${tag}:owners`,
      versions: `${tag}:versions`,
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

  /** An owner's index. Owner names are hashed: they may hold any characters, including braces. */
  owner(owner: string): OwnerKeys {
    const base = `${this.prefix}:{jobs}:owner:${digest(owner)}`;
    return { base, all: `${base}:all`, byState: byStateUnder(base), pending: `${base}:pending` };
  }

  /** The client's Idempotency-Key, scoped to its owner (hashed together: either may hold any character). */
  idempotency(owner: string, key: string): string {
    return `${this.prefix}:{jobs}:idempotency:${digest(`${owner}\u0000${key}`)}`;
  }
}

const digest = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 32);

const U64_MAX = 2n ** 64n - 1n;

/** A Redis stream id `ms-seq` with both parts in range: anything else (Last-Event-ID) is the client's 400. */
export function isEventId(id: string): boolean {
  const match = /^(\d{1,20})-(\d{1,20})$/.exec(id);
  return match !== null && BigInt(match[1]) <= U64_MAX && BigInt(match[2]) <= U64_MAX;
}
