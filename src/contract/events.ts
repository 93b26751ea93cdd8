/**
 * A job's event stream (GET /jobs/{id}/events): the event types, and the ids `Last-Event-ID` resumes from.
 * No zod: the job layer checks ids with isEventId too.
 */

/** The events of a job's stream; `done` carries the finished job and ends it. */
export const JOB_EVENT_TYPES = ['state', 'progress', 'done'] as const;
export type JobEventType = (typeof JOB_EVENT_TYPES)[number];

const U64_MAX = 2n ** 64n - 1n;

/** A Redis stream id `ms-seq` with both parts in range: anything else (Last-Event-ID) is the client's 400. */
export function isEventId(id: string): boolean {
  const match = /^(\d{1,20})-(\d{1,20})$/.exec(id);
  return match !== null && BigInt(match[1]) <= U64_MAX && BigInt(match[2]) <= U64_MAX;
}
