/**
 * What a job's Redis keys hold, declared once and importing nothing of the job layer: the states, the
 * fields of the state hash and of the run hash, and a webhook delivery record. The scripts (lua/), the
 * store and the webhook log read and write these names; test/jobs/state-machine.test.ts checks that the
 * scripts use no field that is not declared here.
 */
import type { JobState } from '../contract/enums.js';
import type { WebhookEvent } from '../contract/webhook.js';

export { JOB_STATES, type JobState } from '../contract/enums.js';
/** The states a job never leaves (only deletion follows). */
export const FINISHED_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];
export const isFinished = (state: JobState): boolean => FINISHED_STATES.includes(state);

/** The fields of a job's state hash (control slot), each with what it holds. */
export const STATE_FIELDS = {
  id: 'the job id',
  owner: "the API key's name that made it ('' when the service is open)",
  state: 'one of JOB_STATES',
  method: 'newton, gauss-newton or gd',
  n: 'rows',
  d: 'columns',
  createdAt: 'ms',
  startedAt: 'ms, set by the first start',
  finishedAt: 'ms',
  options: 'the solve options, JSON',
  fingerprint: "a digest of the submission's body (Idempotency-Key conflicts)",
  idempotencyKey: "the Redis key of the client's Idempotency-Key, absent for none",
  webhook: 'where and when to POST the job, JSON; never shown in its JSON',
  score: 'its place in the indexes (newest first): creation ms * 1000 + a counter',
  provisional: "'1' while its submission has not completed (not listed, not visible)",
  expiresAt: 'ms; prune deletes it then',
  attempts: 'the number of the attempt that took it last',
  recordLimit: 'iterates kept at most',
  token: 'the attempt holding it (absent while none does)',
  holder: 'host:pid of the process that took it last',
  error: 'the JobError it ended with, JSON',
} as const;
export type StateField = keyof typeof STATE_FIELDS;
/** A state hash as read (HGETALL): any of the fields may be missing. */
export type StateHash = Partial<Record<StateField, string>>;

/** The fields of a job's run hash (data slot): what its running attempt writes along with the iterates. */
export const RUN_FIELDS = {
  token: 'the attempt that holds the data (DATA_START sets it)',
  progress: 'the last JobProgress, JSON',
  resumes: 'how often a worker took the job over from its checkpoint',
  truncated: "'1' when some iterates were not kept",
  checkpoint: 'where a resumed run continues, JSON',
  checkpointIteration: "the checkpoint's iteration",
  checkpointRecord: "the stored record of the checkpoint's iterate",
  closed: 'the final state, once the done event is written',
} as const;
export type RunField = keyof typeof RUN_FIELDS;

/** The run hash's fields a view needs, in HMGET order. */
export const VIEW_RUN_FIELDS = ['progress', 'resumes', 'truncated'] as const satisfies readonly RunField[];

/** One webhook delivery attempt, as the job's `deliveries` list keeps it (src/webhooks/delivery-log.ts). */
export interface DeliveryRecord {
  event: WebhookEvent;
  /** 1 for the first attempt of this message */
  attempt: number;
  statusCode?: number;
  error?: string;
  /** when the attempt started, ISO 8601 */
  at: string;
  durationMs: number;
  /** the `webhook-id` header: the same for every attempt of one message */
  deliveryId: string;
}
