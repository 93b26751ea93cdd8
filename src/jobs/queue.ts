/** BullMQ settings shared by the producer and the workers (both must agree on the name and prefix). */
import type { JobsOptions } from 'bullmq';

export const DEFAULT_QUEUE_NAME = 'solve';
export const JOB_NAME = 'solve';

/** What BullMQ's job data holds: the id only. The numbers live in the problem blob (BullMQ copies job data
 * into its job hash and its event stream). */
export interface SolveJobData {
  jobId: string;
}

/** Finished BullMQ jobs kept, by count and by age: age alone is evaluated lazily. */
const RETAIN_COUNT = 1000;

export function jobOptions(jobId: string, ttlSeconds: number): JobsOptions {
  return {
    jobId,
    // a second attempt only for failures that may not recur (a crashed thread, a lost Redis write, a
    // numerical breakdown); problems the solver rejects fail at once (UnrecoverableError)
    attempts: 2,
    backoff: { type: 'fixed', delay: 1000 },
    removeOnComplete: { age: ttlSeconds, count: RETAIN_COUNT },
    removeOnFail: { age: ttlSeconds, count: RETAIN_COUNT },
  };
}

/** Cap of BullMQ's queue-wide event stream (streams.events.maxLen). */
export const QUEUE_EVENTS_MAX_LEN = 1000;
