/**
 * Writes a running solve's batches (records plus the checkpoint they end at) to Redis, one PROGRESS call
 * at a time; batches that arrive meanwhile are merged into the next call. A failed write is retried (the
 * script is idempotent), so a Redis hiccup leaves no gap in the iterates.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { JobStore } from './store.js';
import type { IteratesMessage } from './thread-protocol.js';

/** Records per PROGRESS call: keeps one script call's argument list (and its Redis time) bounded. */
const MAX_RECORDS_PER_WRITE = 5000;
const RETRIES = 10;
const RETRY_MS = 500;

export class ProgressWriter {
  private queued: IteratesMessage[] = [];
  private writing: Promise<void> | null = null;
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
    this.writing ??= this.loop().finally(() => {
      this.writing = null;
    });
  }

  /** Resolves once everything pushed so far is written (or given up). */
  async drain(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async loop(): Promise<void> {
    while (this.queued.length > 0 && !this.lost) {
      const batches = this.queued.splice(0);
      const latest = batches[batches.length - 1];
      const records = batches.length === 1 ? latest.records : batches.flatMap((b) => b.records);
      const truncated = batches.some((b) => b.truncated);
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
