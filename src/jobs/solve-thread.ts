/**
 * The body of a solve thread (worker_threads). The solve is synchronous and may run for minutes; here it
 * blocks only this thread, so the worker's event loop keeps renewing BullMQ locks and writing progress.
 *
 * It receives a problem blob, runs `solve` (from a checkpoint when the job is resumed), and posts back the
 * kept iterates in batches, each with the checkpoint of the latest iterate (at most one batch per
 * `flushMs`, plus the last), and then the result. It stops early when the main thread sets the shared
 * abort flag, which the solver reads every iteration and inside its long phases.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  type Checkpoint,
  type Iterate,
  parseKernelChoice,
  resolveOptions,
  SolverError,
  solve,
  useKernels,
  useSolverThreads,
} from '../solver/index.js';
import { decodeProblem } from './problem-blob.js';
import { encodeIterate } from './records.js';
import type { ThreadMessage, ThreadTask } from './thread-protocol.js';
import type { JobProgress, JobResult } from './types.js';

const port = parentPort;
if (!port) throw new Error('solve-thread.js runs as a worker thread only');

// The solver's kernels, loaded once as the thread starts: a thread has its own module instances, so the
// choice the process's entry point made (LEVINV_KERNELS, validated there) is made again here, from the
// environment the thread inherits.
useKernels(parseKernelChoice(process.env.LEVINV_KERNELS));

const data = workerData as { flag: SharedArrayBuffer; solverThreads?: number };
useSolverThreads(data.solverThreads ?? 1);
const flag = new Int32Array(data.flag);
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
  const limit = Math.max(2, task.recordLimit);
  let pending: string[] = [];
  // the latest iterate seen in this run, and its checkpoint
  let last: { it: Iterate; checkpoint: Checkpoint } | undefined;
  let kept = task.resume?.recorded ?? 0;
  let lastKept = task.resume?.lastRecorded ?? -1;
  let truncated = false;
  let lastFlush = began;
  let includeX = true;
  const flush = (): void => {
    if (!last) return;
    post({
      type: 'iterates',
      records: pending,
      progress: progressOf(last.it),
      checkpoint: last.checkpoint,
      checkpointRecord: encodeIterate(last.it, includeX),
      truncated,
    });
    pending = [];
    lastFlush = performance.now();
  };
  try {
    const { problem, xStar } = decodeProblem(task.blob);
    // The same rule as the solver's own kept list: every k-th iterate (the first limit - 1), and the last.
    const record = resolveOptions(task.options).record;
    includeX = record.includeX;
    const result = solve(problem, task.options, {
      signal,
      ...(task.resume ? { resume: task.resume.checkpoint } : {}),
      onIterate: (it, checkpoint) => {
        last = { it, checkpoint };
        if (it.iteration % record.every === 0) {
          if (kept < limit - 1) {
            pending.push(encodeIterate(it, includeX));
            kept++;
            lastKept = it.iteration;
          } else {
            truncated = true;
          }
        }
        if (performance.now() - lastFlush >= task.flushMs) flush();
      },
    });
    const final = last
      ? { iteration: last.it.iteration, record: encodeIterate(last.it, includeX) }
      : undefined;
    // resumed and stopped at once: the checkpoint's iterate is the last one
    const end =
      final ??
      (task.resume ? { iteration: task.resume.checkpoint.iteration, record: task.resume.record } : undefined);
    if (end && lastKept !== end.iteration) {
      pending.push(end.record);
      lastKept = end.iteration;
    }
    if (last) flush();
    else if (end && pending.length > 0 && task.resume) {
      post({
        type: 'iterates',
        records: pending,
        progress: progressFromRecord(end.record),
        checkpoint: task.resume.checkpoint,
        checkpointRecord: task.resume.record,
        truncated,
      });
    }
    const { iterates: _kept, ...rest } = result;
    const jobResult: JobResult = xStar ? { ...rest, relError: relativeError(rest.x, xStar) } : rest;
    post({
      type: 'done',
      result: jobResult,
      progress: last ? progressOf(last.it) : null,
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
      progress: last ? progressOf(last.it) : null,
      seconds: (performance.now() - began) / 1000,
    });
  }
}

function progressFromRecord(record: string): JobProgress {
  const [iteration, loss, gradNorm] = JSON.parse(record) as number[];
  return { iteration, loss, gradNorm };
}

port.on('message', (task: ThreadTask) => run(task));
