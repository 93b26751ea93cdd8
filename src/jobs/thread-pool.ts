/**
 * A fixed pool of solve threads, one per concurrency slot of the BullMQ worker, so a slot never waits for a
 * thread. Each thread owns a one-int SharedArrayBuffer: the abort flag its solver reads every iteration.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { IteratesMessage, ThreadMessage, ThreadOutcome, ThreadTask } from './thread-protocol.js';

/**
 * The compiled thread body. Threads always run JavaScript from dist: next to this module when it is itself
 * compiled, and dist/jobs when it is loaded from src (vitest), since a thread cannot load TypeScript.
 */
export function solveThreadFile(): URL {
  const here = import.meta.url;
  const url = here.endsWith('.ts')
    ? new URL('../../dist/jobs/solve-thread.js', here)
    : new URL('./solve-thread.js', here);
  if (!existsSync(url)) {
    throw new Error(`the solve thread ${fileURLToPath(url)} does not exist: run 'npm run build' first`);
  }
  return url;
}

export class ThreadCrashError extends Error {
  constructor(
    message: string,
    /** the thread hit its heap limit (resourceLimits): the same job would again */
    readonly outOfMemory = false,
  ) {
    super(message);
    this.name = 'ThreadCrashError';
  }
}

/**
 * Heap beyond MAX_SOLVE_MEMORY_MB for the thread itself (code, the result's n-length arrays and JSON). The
 * solver's matrices are typed arrays, which live outside the V8 heap: the API refuses problems whose
 * estimate exceeds the limit; this bounds what a runaway run can pile up on the heap.
 */
export const HEAP_HEADROOM_MB = 64;

export const solveThreadHeapMb = (maxSolveMemoryMb: number): number => maxSolveMemoryMb + HEAP_HEADROOM_MB;

export interface RunningSolve {
  /** asks the solver to stop after its current iteration (it then ends with reason `aborted`) */
  abort(): void;
  done: Promise<ThreadOutcome>;
}

interface Slot {
  thread: Worker;
  flag: Int32Array;
  busy: boolean;
  /** exited; replaced when next needed (not at once, so a thread that cannot start never spins) */
  dead?: boolean;
  /** the running task's handlers */
  onMessage?: (message: ThreadMessage) => void;
  onCrash?: (error: Error) => void;
}

export class SolveThreadPool {
  private readonly slots: Slot[] = [];
  private closed = false;

  constructor(
    size: number,
    /** the threads' old-generation heap limit; none: Node's default */
    private readonly heapMb?: number,
    private readonly file: URL = solveThreadFile(),
    /** threads each solve splits its row loops over (the solve thread and its helpers) */
    private readonly solverThreads = 1,
  ) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const shared = new SharedArrayBuffer(4);
    const thread = new Worker(this.file, {
      workerData: { flag: shared, solverThreads: this.solverThreads },
      ...(this.heapMb ? { resourceLimits: { maxOldGenerationSizeMb: this.heapMb } } : {}),
    });
    const slot: Slot = { thread, flag: new Int32Array(shared), busy: false };
    thread.on('message', (message: ThreadMessage) => slot.onMessage?.(message));
    thread.on('error', (error: Error & { code?: string }) => {
      const outOfMemory = error.code === 'ERR_WORKER_OUT_OF_MEMORY';
      slot.onCrash?.(new ThreadCrashError(`solve thread failed: ${error.message}`, outOfMemory));
    });
    thread.on('exit', (code) => {
      slot.dead = true;
      slot.onCrash?.(new ThreadCrashError(`solve thread exited with code ${code}`));
    });
    return slot;
  }

  run(task: ThreadTask, onIterates: (batch: IteratesMessage) => void): RunningSolve {
    if (this.closed) throw new Error('the solve thread pool is closed');
    const at = this.slots.findIndex((s) => !s.busy);
    if (at < 0) throw new Error('no free solve thread (more jobs than the pool size)');
    if (this.slots[at].dead) this.slots[at] = this.spawn();
    const slot = this.slots[at];
    slot.busy = true;
    Atomics.store(slot.flag, 0, 0);
    const done = new Promise<ThreadOutcome>((resolve, reject) => {
      const release = (): void => {
        slot.busy = false;
        slot.onMessage = undefined;
        slot.onCrash = undefined;
      };
      slot.onMessage = (message) => {
        if (message.type === 'iterates') {
          onIterates(message);
          return;
        }
        release();
        resolve(message);
      };
      slot.onCrash = (error) => {
        release();
        reject(error);
      };
    });
    slot.thread.postMessage(task, [task.blob]);
    return { abort: () => Atomics.store(slot.flag, 0, 1), done };
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.thread.terminate()));
  }
}
