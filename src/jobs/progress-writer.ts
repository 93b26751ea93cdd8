/**
 * Writes a running solve's batches (records plus the checkpoint they end at) to Redis, one PROGRESS call
 * at a time; batches that arrive meanwhile are merged into the next call. A failed write is retried (the
 * script is idempotent), so a Redis hiccup leaves no gap in the iterates.
 *
 * A write starts on the next turn of the event loop (setImmediate), not at once: a solve thread posts its
 * last batch and its result back to back, and the worker then takes that batch (takePending) to store it
 * with the result in one call (SEAL_BATCH) instead of two.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { JobStore, ProgressBatch } from './store.js';
import type { IteratesMessage } from './thread-protocol.js';

/** Records per PROGRESS call: keeps one script call's argument list (and its Redis time) bounded. */
const MAX_RECORDS_PER_WRITE = 5000;
const RETRIES = 10;
const RETRY_MS = 500;

export class ProgressWriter {
  private queued: IteratesMessage[] = [];
  private writing: Promise<void> | null = null;
  /** the next write, scheduled and not started */
  private scheduled: NodeJS.Immediate | null = null;
  private lost = false;

  constructor(
    private readonly store: JobStore,
    private readonly id: string,
    private readonly token: string,
    /** iterates recorded so far (the list's length after the last write) */
    public recorded: number,
    /** called once when another attempt owns the job: the solve should stop */
    private readonly onLost: () => void,
    private readonly log: Logger,
    /** called when a write's reply says a cancel was requested (the PROGRESS script reads the flag) */
    private readonly onCancel: () => void = () => undefined,
  ) {}

  push(batch: IteratesMessage): void {
    if (this.lost) return;
    this.queued.push(batch);
    if (!this.writing && !this.scheduled) this.scheduled = setImmediate(() => this.start());
  }

  private start(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = null;
    this.writing ??= this.loop().finally(() => {
      this.writing = null;
    });
  }

  /** Resolves once everything pushed so far is written (or given up). */
  async drain(): Promise<void> {
    if (this.scheduled) this.start();
    while (this.writing) await this.writing;
  }

  /**
   * The batches not handed to Redis yet, merged into one, for the caller to store itself (after drain(),
   * which waits for a write in flight); null when there are none or too many records for one call.
   */
  takePending(): ProgressBatch | null {
    if (this.lost || this.queued.length === 0) return null;
    const batch = merge(this.queued);
    if (batch.records.length > MAX_RECORDS_PER_WRITE) return null;
    this.queued = [];
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = null;
    return batch;
  }

  private async loop(): Promise<void> {
    while (this.queued.length > 0 && !this.lost) {
      const { records, truncated, ...latest } = merge(this.queued.splice(0));
      for (let at = 0; ; at += MAX_RECORDS_PER_WRITE) {
        const last = at + MAX_RECORDS_PER_WRITE >= records.length;
        // the checkpoint goes with the chunk that ends at its iterate
        const ok = await this.write({
          records: records.slice(at, at + MAX_RECORDS_PER_WRITE),
          progress: last ? latest.progress : null,
          checkpoint: last ? latest.checkpoint : null,
          checkpointRecord: last ? latest.checkpointRecord : '',
          truncated,
        });
        if (!ok || last) break;
      }
    }
  }

  private async write(batch: Parameters<JobStore['progress']>[2]): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        const { recorded, cancelRequested } = await this.store.progress(this.id, this.token, batch);
        if (recorded < 0) {
          this.lost = true;
          this.onLost();
          return false;
        }
        this.recorded = recorded;
        if (cancelRequested) this.onCancel();
        return true;
      } catch (error) {
        if (attempt >= RETRIES) {
          this.log.error({ err: error }, 'could not write progress: a batch of iterates is lost');
          return true;
        }
        this.log.warn({ err: error, attempt }, 'could not write progress; retrying');
        await sleep(RETRY_MS * attempt);
      }
    }
  }
}

/** Batches in order as one: all their records, the last one's checkpoint and progress. */
function merge(batches: IteratesMessage[]): ProgressBatch {
  const latest = batches[batches.length - 1];
  return {
    records: batches.length === 1 ? latest.records : batches.flatMap((b) => b.records),
    progress: latest.progress,
    checkpoint: latest.checkpoint,
    checkpointRecord: latest.checkpointRecord,
    truncated: batches.some((b) => b.truncated),
  };
}
