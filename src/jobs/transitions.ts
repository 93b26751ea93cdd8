/**
 * The job state machine, as data: the one description of a job's states and of what moves it between
 * them. The job writer (job-writer.ts) checks every control script's reply against it, and
 * test/jobs/state-machine.test.ts drives every row against a real Redis and fails on a script or a state
 * without a row.
 *
 * A job's phase is what its state hash says: absent (no hash: not made yet, or deleted), provisional
 * (admitted by a submission that has not completed: not listed, not visible, expiring within minutes), or
 * its state (job-record.ts JOB_STATES). Only a control script changes it, on the control slot, moving the
 * job's index entries in the same step; an event is the control script of that name (lua/<event>.lua).
 * The data scripts write what a run produces on the job's own slot and never change its phase. A change
 * that needs both slots runs single-slot scripts in an order whose every prefix is safe (CHANGES).
 */
import { JOB_STATES, type JobState, type StateHash } from './job-record.js';
import type { ScriptName } from './scripts.js';

export type Phase = 'absent' | 'provisional' | JobState;
export const PHASES: readonly Phase[] = ['absent', 'provisional', ...JOB_STATES];

/** A job's phase from its state hash (null: none, or expired). */
export function phaseOf(hash: StateHash | null): Phase {
  if (!hash?.state) return 'absent';
  if (hash.provisional === '1') return 'provisional';
  return hash.state as JobState;
}

/** The scripts that change a job's phase: the events of the table. */
export const CONTROL_SCRIPTS = [
  'admit',
  'commit',
  'release',
  'start',
  'finish',
  'requeue',
  'stalled',
  'cancel',
  'remove',
  'prune',
] as const satisfies readonly ScriptName[];
export type ControlScript = (typeof CONTROL_SCRIPTS)[number];

/** `event` on a job in phase `from` (in situation `when`, if given) replies `reply` and leaves it `to`. */
export interface Transition {
  from: Phase;
  event: ControlScript;
  when?: string;
  /** the script's reply (of a list reply, its first element) */
  reply: string | number;
  to: Phase;
}

export const TRANSITIONS = [
  // a submission (submission.ts): admitted, then committed (listed) or released (rolled back)
  { from: 'absent', event: 'admit', reply: 'ok', to: 'provisional' },
  { from: 'absent', event: 'admit', when: 'the owner has maxActive jobs', reply: 'quota', to: 'absent' },
  { from: 'absent', event: 'admit', when: 'its Idempotency-Key is taken', reply: 'taken', to: 'absent' },
  { from: 'provisional', event: 'commit', reply: 'queued', to: 'queued' },
  { from: 'queued', event: 'commit', when: 'completed twice (retries)', reply: 'queued', to: 'queued' },
  { from: 'running', event: 'commit', when: 'a worker started it first', reply: 'running', to: 'running' },
  { from: 'succeeded', event: 'commit', when: 'a worker ran it first', reply: 'succeeded', to: 'succeeded' },
  { from: 'failed', event: 'commit', when: 'a worker failed it first', reply: 'failed', to: 'failed' },
  { from: 'cancelled', event: 'commit', when: 'a worker ran it first', reply: 'cancelled', to: 'cancelled' },
  { from: 'absent', event: 'commit', when: 'expired or rolled back', reply: '', to: 'absent' },
  { from: 'provisional', event: 'release', reply: 1, to: 'absent' },
  { from: 'queued', event: 'release', when: 'completing it failed late', reply: 1, to: 'absent' },
  // a worker's attempt (worker/process-job.ts, store.ts)
  { from: 'queued', event: 'start', reply: 'started', to: 'running' },
  { from: 'provisional', event: 'start', when: 'not committed yet', reply: 'started', to: 'running' },
  { from: 'running', event: 'start', when: 'another attempt takes over', reply: 'started', to: 'running' },
  { from: 'succeeded', event: 'start', reply: 'finished', to: 'succeeded' },
  { from: 'failed', event: 'start', reply: 'finished', to: 'failed' },
  { from: 'cancelled', event: 'start', reply: 'finished', to: 'cancelled' },
  { from: 'absent', event: 'start', reply: 'missing', to: 'absent' },
  { from: 'running', event: 'finish', when: 'its attempt succeeds', reply: 1, to: 'succeeded' },
  { from: 'running', event: 'finish', when: 'its attempt fails', reply: 1, to: 'failed' },
  { from: 'running', event: 'finish', when: 'its attempt stops on a cancel', reply: 1, to: 'cancelled' },
  { from: 'running', event: 'finish', when: 'another attempt holds it', reply: 0, to: 'running' },
  { from: 'queued', event: 'finish', when: 'BullMQ failed it (token: any)', reply: 1, to: 'failed' },
  { from: 'succeeded', event: 'finish', reply: 0, to: 'succeeded' },
  { from: 'running', event: 'requeue', when: 'its attempt hands it back', reply: 1, to: 'queued' },
  { from: 'running', event: 'requeue', when: 'another attempt holds it', reply: 0, to: 'running' },
  { from: 'running', event: 'stalled', when: 'the attempt that stalled holds it', reply: 1, to: 'queued' },
  { from: 'running', event: 'stalled', when: 'a later attempt holds it', reply: 0, to: 'running' },
  { from: 'queued', event: 'stalled', reply: 0, to: 'queued' },
  // a client (job-service.ts)
  { from: 'queued', event: 'cancel', reply: 'cancelled', to: 'cancelled' },
  { from: 'running', event: 'cancel', when: 'its worker is to stop (FLAG)', reply: 'running', to: 'running' },
  { from: 'succeeded', event: 'cancel', reply: 'finished', to: 'succeeded' },
  { from: 'absent', event: 'cancel', reply: 'missing', to: 'absent' },
  { from: 'succeeded', event: 'remove', reply: 'deleted', to: 'absent' },
  { from: 'failed', event: 'remove', reply: 'deleted', to: 'absent' },
  { from: 'cancelled', event: 'remove', reply: 'deleted', to: 'absent' },
  { from: 'succeeded', event: 'remove', when: 'another owner asks', reply: 'not-found', to: 'succeeded' },
  { from: 'provisional', event: 'remove', reply: 'not-found', to: 'provisional' },
  { from: 'queued', event: 'remove', reply: 'running', to: 'queued' },
  { from: 'running', event: 'remove', reply: 'running', to: 'running' },
  { from: 'absent', event: 'remove', reply: 'not-found', to: 'absent' },
  // its time is up (store.ts prune)
  { from: 'succeeded', event: 'prune', when: 'expired', reply: 1, to: 'absent' },
  { from: 'failed', event: 'prune', when: 'expired', reply: 1, to: 'absent' },
  { from: 'cancelled', event: 'prune', when: 'expired', reply: 1, to: 'absent' },
  { from: 'provisional', event: 'prune', when: 'expired', reply: 1, to: 'absent' },
  { from: 'queued', event: 'prune', when: 'expired: still to run', reply: 2, to: 'queued' },
  { from: 'running', event: 'prune', when: 'expired: still running', reply: 2, to: 'running' },
  { from: 'succeeded', event: 'prune', when: 'not expired', reply: 0, to: 'succeeded' },
] as const satisfies readonly Transition[];

/** What `event` can reply, as the table lists it. */
export type ReplyOf<E extends ControlScript> = Extract<(typeof TRANSITIONS)[number], { event: E }>['reply'];

const REPLIES = new Map<ControlScript, Set<string | number>>(
  CONTROL_SCRIPTS.map((event) => [
    event,
    new Set(TRANSITIONS.filter((t) => t.event === event).map((t) => t.reply)),
  ]),
);

/** The reply, if the table lists it for `event`; otherwise the table or the script is wrong: throws. */
export function checkReply<E extends ControlScript>(event: E, reply: unknown): ReplyOf<E> {
  if (!REPLIES.get(event)?.has(reply as string | number)) {
    throw new Error(`${event} replied ${JSON.stringify(reply)}, which no transition (transitions.ts) lists`);
  }
  return reply as ReplyOf<E>;
}

/** The scripts that write a job's data (its own slot), with the phases the code runs them in. */
export const DATA_SCRIPTS = {
  create: ['absent'],
  confirm: ['provisional', 'queued', 'running'],
  dataStart: ['running'],
  progress: ['running'],
  seal: ['running', 'queued'],
  sealBatch: ['running'],
  close: ['succeeded', 'failed', 'cancelled'],
  reset: ['running'],
  flag: ['running'],
  emit: ['queued'],
  appendDelivery: PHASES.filter((p) => p !== 'absent' && p !== 'provisional'),
} as const satisfies Partial<Record<ScriptName, readonly Phase[]>>;

/** The scripts that only read (one consistent step over several keys), in any phase. */
export const READ_SCRIPTS = ['read', 'events'] as const satisfies readonly ScriptName[];

/**
 * The changes that run several scripts, in order (alternatives in a list). Each step is one script on
 * one slot; why every prefix of the order is safe is the comment of the code that runs it.
 */
export const CHANGES = {
  /** submission.ts: data with a provisional TTL, place and state hash, the BullMQ job, full TTL, listed */
  submit: ['create', 'admit', 'confirm', 'commit'],
  /** a submission that fails after ADMIT; its data is deleted */
  rollback: ['release'],
  /** store.ts start: the state and the attempt's token, then the data's token and resume point */
  start: ['start', 'dataStart'],
  /** a job BullMQ hands out that is already finished (its finisher may have died before CLOSE) */
  closeFinished: ['close'],
  progress: ['progress'],
  /** store.ts finish: the result (if the attempt holds the data), the state (if it holds the job), events */
  finish: [['seal', 'sealBatch'], 'finish', 'close'],
  /** a worker's shutdown hands the job back with its checkpoint; a retry starts over (reset) */
  requeue: ['requeue', 'emit'],
  retry: ['reset', 'requeue', 'emit'],
  /** BullMQ found the attempt's worker dead */
  stalled: ['stalled', 'emit'],
  cancelQueued: ['cancel', 'close'],
  cancelRunning: ['cancel', 'flag'],
  /** then the job's data is deleted */
  remove: ['remove'],
  /** then the job's data is deleted (1) or kept as long (2: confirm) */
  prune: ['prune', 'confirm'],
  delivery: ['appendDelivery'],
} as const satisfies Record<string, readonly (ScriptName | readonly ScriptName[])[]>;
