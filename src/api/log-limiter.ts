/**
 * At most one log line per interval for an event that can come thousands of times a second (a flood of
 * wrong keys): the line that is written says how many were left out since the previous one.
 */
export class LogLimiter {
  #last = Number.NEGATIVE_INFINITY;
  #skipped = 0;

  constructor(private readonly intervalMs: number) {}

  /** Calls `write(skipped)` when the interval has passed since the last line; otherwise counts one skip. */
  maybe(write: (skipped: number) => void, now = Date.now()): void {
    if (now - this.#last < this.intervalMs) {
      this.#skipped++;
      return;
    }
    this.#last = now;
    const skipped = this.#skipped;
    this.#skipped = 0;
    write(skipped);
  }
}
