/**
 * The job layer's public surface: the producer (`createJobService`, used by the API), the consumer
 * (`startWorkers`, used by the worker entry and `npm start`), and the lifecycle events both announce to the
 * listeners the entry points hand them (job-events.ts).
 */
export type { JobEventSource, JobListener, JobListenerFactory } from './job-events.js';
export { createJobService, InvalidCursorError, type JobServiceOptions } from './job-service.js';
export { DEFAULT_QUEUE_NAME } from './queue.js';
export * from './types.js';
export { type StartWorkersOptions, startWorkers, type WorkerHandle } from './worker/start-workers.js';
