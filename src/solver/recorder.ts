/**
 * The iterates a result keeps (RecordOptions): every k-th, always the last, at most `limit` of them. Past
 * the limit it keeps the first limit - 1 and the last, so the memory of a long run stays bounded.
 */
import type { Iterate, RecordOptions } from './types.js';

export class IterateRecorder {
  private readonly kept: Iterate[] = [];
  /** the last iterate offered, whether kept or not */
  private last: Iterate | undefined;
  private lastKept = false;
  private dropped = 0;

  constructor(private readonly record: RecordOptions) {}

  offer(iterate: Iterate): void {
    this.last = iterate;
    this.lastKept = false;
    if (iterate.iteration % this.record.every !== 0) return;
    if (this.kept.length < this.record.limit - 1) {
      this.kept.push(this.strip(iterate));
      this.lastKept = true;
    } else {
      this.dropped++;
    }
  }

  /** The kept iterates, ending with the last one offered, and a warning when the limit dropped some. */
  finish(): { iterates: Iterate[]; warning?: string } {
    const { last } = this;
    if (last && !this.lastKept) {
      if (last.iteration % this.record.every === 0) this.dropped--;
      this.kept.push(this.strip(last));
    }
    if (this.dropped === 0) return { iterates: this.kept };
    const { limit } = this.record;
    return {
      iterates: this.kept,
      warning:
        `record.limit ${limit}: ${this.dropped} recorded iterate(s) were dropped; ` +
        `kept the first ${limit - 1} and the last`,
    };
  }

  private strip(it: Iterate): Iterate {
    if (this.record.includeX) return it;
    const { x: _x, ...rest } = it;
    return rest;
  }
}
