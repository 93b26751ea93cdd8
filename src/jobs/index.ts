/**
 * The job layer's public surface: the producer (`createJobService`, used by the API) and the consumer
 * (`startWorkers`, used by the worker entry and `npm start`). Only src/jobs imports bullmq.
 */
export { createJobService, InvalidCursorError, type JobServiceOptions } from './job-service.js';
export { isEventId } from './keys.js';
export { type StartWorkersOptions, startWorkers, type WorkerHandle } from './processor.js';
export { DEFAULT_QUEUE_NAME } from './queue.js';
export * from './types.js';
