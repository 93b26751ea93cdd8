/**
 * Stopping a run from inside its long phases (hooks.signal and maxSeconds, see SolveHooks). The kernels
 * report the arithmetic they have done through tick(work); about every POLL_WORK multiply-adds (a
 * millisecond or so) the stopper reads the signal and the clock and throws StopRequested. A poll costs
 * well under a microsecond, so the overhead stays below 0.1% while a stop lands within milliseconds.
 */

/** Multiply-adds between two polls. */
export const POLL_WORK = 1 << 20;

export type StopCause = 'aborted' | 'max-seconds';

/** Thrown through the numerics when a stop is due; solve() turns it into a result or a SolverError. */
export class StopRequested extends Error {
  readonly reason: StopCause;

  constructor(reason: StopCause) {
    super(`solve stopped: ${reason}`);
    this.name = 'StopRequested';
    this.reason = reason;
  }
}

export class Stopper {
  private work = 0;

  /** `deadline` is a reading of `now` (ms) after which the time budget is spent; Infinity for none. */
  constructor(
    private readonly signal: { readonly aborted: boolean } | undefined,
    private readonly now: () => number,
    public deadline: number,
  ) {}

  /** Why the run should stop now, or null. Reads the clock only when there is a time budget. */
  due(): StopCause | null {
    if (this.signal?.aborted) return 'aborted';
    if (this.deadline < Infinity && this.now() >= this.deadline) return 'max-seconds';
    return null;
  }

  /** Throws StopRequested when a stop is due. */
  check(): void {
    this.work = 0;
    const cause = this.due();
    if (cause) throw new StopRequested(cause);
  }

  /** Counts `work` multiply-adds and polls once enough have accumulated. */
  tick(work: number): void {
    this.work += work;
    if (this.work >= POLL_WORK) this.check();
  }
}

/** For callers without a signal or budget (findStart, leverageScores, tests): never stops. */
export const NO_STOP = new Stopper(undefined, () => 0, Infinity);
