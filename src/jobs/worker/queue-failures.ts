/**
 * What BullMQ decides about a job without its processor: a job whose worker died goes back to wait
 * (`stalled`), and a job that stalled more than maxResumes times fails in the queue (`failed`, never seen
 * by a processor). Both are recorded in the job's state hash here.
 */
import { Job, type Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { SolveJobData } from '../queue.js';
import type { JobStore } from '../store.js';
import { isFinished } from '../types.js';
import { internal } from './process-job.js';

export function recordQueueFailures(
  worker: Worker<SolveJobData>,
  store: JobStore,
  maxResumes: number,
  logger: Logger,
): void {
  /**
   * BullMQ moved a job whose worker died back to wait: it is queued until a worker takes it, unless one
   * already has (then it is in the active list again, and its attempt number has moved on).
   */
  async function markStalled(jobId: string): Promise<void> {
    // Its attempt number first, its state second: an attempt that starts in between shows as active; one
    // that starts later either STARTs after STALLED or makes STALLED refuse (its attempt number is higher).
    const job = await Job.fromId<SolveJobData>(worker, jobId);
    if (!job || (await job.getState()) === 'active') return;
    if (await store.stalled(jobId, job.attemptsStarted)) {
      logger.info({ jobId }, 'stalled job marked queued until a worker takes it over');
    }
  }

  worker.on('stalled', (jobId) => {
    logger.warn({ jobId }, 'job stalled (its worker died?); another worker will resume it');
    markStalled(jobId).catch((err) => logger.warn({ err, jobId }, 'could not mark a stalled job queued'));
  });
  worker.on('failed', (job, error) => {
    // Only BullMQ's own final failures need recording here (a job that stalled too often never reaches the
    // processor); the processor has already finished the others, and FINISH then changes nothing.
    if (!job?.finishedOn) return;
    const id = job.data.jobId ?? job.id!;
    const jobError = /stalled more than allowable limit/.test(error.message)
      ? {
          code: 'WORKER_LOST',
          message: `its worker stopped responding ${maxResumes + 1} times (at most ${maxResumes} are resumed)`,
        }
      : internal(error.message);
    void (async () => {
      const meta = await store.readMeta(id);
      if (!meta) return;
      if (isFinished(meta.state)) {
        await store.closeFinished(id);
        return;
      }
      await store.finish(meta, '', { state: 'failed', error: jobError }, Date.now());
      logger.warn({ jobId: id, err: error }, 'job failed in the queue');
    })().catch((err) => logger.error({ err, jobId: id }, 'could not record a failure'));
  });
}
