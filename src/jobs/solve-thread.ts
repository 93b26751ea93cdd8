/**
 * The body of a solve thread (worker_threads). The solve is synchronous and may run for minutes; here it
 * blocks only this thread, so the worker's event loop keeps renewing BullMQ locks and writing progress.
 *
 * It receives a problem blob, runs `solve`, and posts back the kept iterates in batches (at most one batch
 * per `flushMs`, plus the last) and then the result. It stops early when the main thread sets the shared
 * abort flag, which the solver reads once per iteration.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type Iterate, resolveOptions, SolverError, solve } from '../solver/index.js';
import { decodeProblem } from './problem-blob.js';
import { encodeIterate } from './records.js';
import type { ThreadMessage, ThreadTask } from './thread-protocol.js';
import type { JobProgress, JobResult } from './types.js';

const port = parentPort;
if (!port) throw new Error('solve-thread.js runs as a worker thread only');

const flag = new Int32Array((workerData as { flag: SharedArrayBuffer }).flag);
const signal = {
  get aborted(): boolean {
    return Atomics.load(flag, 0) === 1;
  },
};

const post = (message: ThreadMessage): void => port.postMessage(message);

const progressOf = (it: Iterate): JobProgress => ({
  iteration: it.iteration,
  loss: it.loss,
  gradNorm: it.gradNorm,
});

/** ||x - xStar|| / ||xStar||, as `levinv solve` reports it. */
function relativeError(x: readonly number[], xStar: Float64Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < x.length; i++) {
    diff += (x[i] - xStar[i]) ** 2;
    scale += xStar[i] ** 2;
  }
  return Math.sqrt(diff) / (scale > 0 ? Math.sqrt(scale) : 1);
}

function run(task: ThreadTask): void {
  const began = performance.now();
  let pending: string[] = [];
  let last: Iterate | undefined;
  let lastKept = -1;
  let lastFlush = began;
  const flush = (): void => {
    if (!last) return;
    post({ type: 'iterates', records: pending, progress: progressOf(last) });
    pending = [];
    lastFlush = performance.now();
  };
  try {
    const { problem, xStar } = decodeProblem(task.blob);
    // The same rule as the solver's own kept list: every k-th iterate, and the last one.
    const { every, includeX } = resolveOptions(task.options).record;
    const result = solve(problem, task.options, {
      signal,
      onIterate: (it) => {
        last = it;
        if (it.iteration % every === 0) {
          pending.push(encodeIterate(it, includeX));
          lastKept = it.iteration;
        }
        if (performance.now() - lastFlush >= task.flushMs) flush();
      },
    });
    if (last && lastKept !== last.iteration) pending.push(encodeIterate(last, includeX));
    flush();
    const { iterates: _kept, ...rest } = result;
    const jobResult: JobResult = xStar ? { ...rest, relError: relativeError(rest.x, xStar) } : rest;
    post({
      type: 'done',
      result: jobResult,
      progress: last ? progressOf(last) : null,
      seconds: (performance.now() - began) / 1000,
    });
  } catch (error) {
    // iterates before a breakdown are still worth keeping
    flush();
    post({
      type: 'error',
      error:
        error instanceof SolverError
          ? { solver: true, code: error.code, message: error.message, field: error.field }
          : {
              solver: false,
              code: 'INTERNAL',
              message: error instanceof Error ? error.message : String(error),
            },
      progress: last ? progressOf(last) : null,
      seconds: (performance.now() - began) / 1000,
    });
  }
}

port.on('message', (task: ThreadTask) => run(task));
