/**
 * A small pool of threads that parse large POST /solve bodies, so that JSON.parse, the schema and the
 * conversion to typed arrays of a 44 MB body (0.5-0.9 s of CPU) never block the API's event loop. The queue
 * is bounded: past it the API sheds load with 503 rather than holding ever more bodies in memory. Threads
 * start on first use and have a heap cap: a body built to exhaust memory kills its thread, not the API; and
 * each task a deadline: a body built to take long (or a parser bug that loops) costs one thread for that long,
 * then the thread is replaced and the other bodies go on.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ParseReply, ParseTask } from './parse-messages.js';
import { HttpProblem } from './problems.js';
import type { SolveBodyOutcome } from './solve-body.js';

/** Compiled JavaScript: next to this module in dist, or dist/api when this module is loaded from src (vitest). */
function parseThreadFile(): URL {
  const here = import.meta.url;
  const url = here.endsWith('.ts')
    ? new URL('../../dist/api/parse-thread.js', here)
    : new URL('./parse-thread.js', here);
  if (!existsSync(url)) throw new Error(`${fileURLToPath(url)} does not exist: run 'npm run build' first`);
  return url;
}

export interface ParsePoolOptions {
  /** threads (default: cores - 1, at least 1, so that a core stays free for the event loop) */
  size?: number;
  /** bodies waiting for a thread before new ones get 503 (default 32) */
  maxQueue?: number;
  /** each thread's old-generation heap cap in MB (default 1024) */
  maxHeapMb?: number;
  /**
   * how long a thread may work on one body, counted from when it starts on it (not while it waits in the
   * queue), before the thread is terminated and the body refused with 413 (default 30000 ms: the largest
   * legitimate bodies parse in a few seconds)
   */
  deadlineMs?: number;
}

interface Pending {
  task: ParseTask;
  resolve(outcome: SolveBodyOutcome): void;
  reject(error: Error): void;
}

interface Slot {
  thread: Worker;
  current?: Pending;
  /** the current task's deadline */
  timer?: NodeJS.Timeout;
  /** the thread has loaded its modules (a fresh one takes a moment, which is not the task's) */
  ready?: boolean;
  /** what the thread died of, from its 'error' event */
  error?: Error;
}

/**
 * A copy of the bytes a chunk views, in a buffer of their own: a structured clone of a view copies its whole
 * backing store (a socket read, or Node's shared pool with other requests' bytes) to the thread.
 */
const ownBytes = (chunk: Uint8Array): Uint8Array =>
  chunk.byteOffset === 0 &&
  chunk.byteLength === chunk.buffer.byteLength &&
  chunk.buffer instanceof ArrayBuffer
    ? chunk
    : new Uint8Array(chunk);

export class ParsePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private readonly size: number;
  private readonly maxQueue: number;
  private readonly maxHeapMb: number;
  private readonly deadlineMs: number;
  private nextId = 0;
  private closed = false;

  constructor(options: ParsePoolOptions = {}) {
    this.size = options.size ?? Math.max(1, availableParallelism() - 1);
    this.maxQueue = options.maxQueue ?? 32;
    this.maxHeapMb = options.maxHeapMb ?? 1024;
    this.deadlineMs = options.deadlineMs ?? 30_000;
  }

  /**
   * Parses the body given as the chunks it arrived in; chunks that own their memory are moved to the thread
   * (the caller must not use them afterwards), the thread joins them.
   */
  parse(chunks: Uint8Array[], withFingerprint: boolean, npy?: ParseTask['npy']): Promise<SolveBodyOutcome> {
    if (this.closed) return Promise.reject(new HttpProblem(503, 'the server is shutting down'));
    if (this.queue.length >= this.maxQueue) {
      return Promise.reject(
        new HttpProblem(503, 'too many large bodies are waiting to be parsed; retry later', {
          headers: { 'retry-after': '2' },
        }),
      );
    }
    return new Promise((resolve, reject) => {
      const task: ParseTask = { id: this.nextId++, chunks, withFingerprint };
      if (npy) task.npy = npy;
      this.queue.push({ task, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => s.current === undefined);
      if (!slot && this.slots.length < this.size) slot = this.spawn();
      if (!slot) return;
      const pending = this.queue.shift() as Pending;
      slot.current = pending;
      // Chunks that own their memory (socket and zlib chunks, mostly) move for free; a view is copied to a
      // buffer of its own first, so that only its bytes reach the thread, and then moved.
      const task = pending.task;
      if (task.npy) {
        const files = Object.entries(task.npy.files).map(([name, chunks]) => [name, chunks.map(ownBytes)]);
        task.npy = { ...task.npy, files: Object.fromEntries(files) };
      } else {
        task.chunks = task.chunks.map(ownBytes);
      }
      const chunks = task.npy ? Object.values(task.npy.files).flat() : task.chunks;
      try {
        slot.thread.postMessage(task, [...new Set(chunks.map((c) => c.buffer as ArrayBuffer))]);
      } catch (error) {
        this.finish(slot);
        pending.reject(error as Error);
        continue;
      }
      if (slot.ready) this.startDeadline(slot);
    }
  }

  private startDeadline(slot: Slot): void {
    slot.timer = setTimeout(() => this.abandon(slot), this.deadlineMs);
    slot.timer.unref();
  }

  /** The current task ran out of time: refused, and its thread replaced (terminate is the only way to stop it). */
  private abandon(slot: Slot): void {
    this.finish(slot)?.reject(
      new HttpProblem(
        413,
        `the body takes longer to parse than the server allows for one request (${this.deadlineMs / 1000} s)`,
      ),
    );
    this.remove(slot);
    void slot.thread.terminate();
    this.dispatch();
  }

  /** Ends the slot's current task (if any) and gives it back. */
  private finish(slot: Slot): Pending | undefined {
    clearTimeout(slot.timer);
    const pending = slot.current;
    slot.current = undefined;
    slot.timer = undefined;
    return pending;
  }

  private remove(slot: Slot): void {
    const index = this.slots.indexOf(slot);
    if (index >= 0) this.slots.splice(index, 1);
  }

  private spawn(): Slot {
    const thread = new Worker(parseThreadFile(), {
      resourceLimits: { maxOldGenerationSizeMb: this.maxHeapMb },
    });
    thread.unref();
    const slot: Slot = { thread };
    thread.on('message', (reply: ParseReply) => {
      if ('ready' in reply) {
        slot.ready = true;
        if (slot.current) this.startDeadline(slot);
        return;
      }
      // a late answer from an abandoned thread, or for another task, is not this task's
      if (!this.slots.includes(slot) || slot.current?.task.id !== reply.id) return;
      const pending = this.finish(slot);
      if ('outcome' in reply) pending?.resolve(reply.outcome);
      else pending?.reject(new Error(`the parse thread failed: ${reply.failed}`));
      this.dispatch();
    });
    // 'error' (e.g. ERR_WORKER_OUT_OF_MEMORY) is followed by 'exit'; the body is refused once, on exit.
    thread.on('error', (error) => {
      slot.error = error;
    });
    thread.on('exit', () => {
      this.remove(slot);
      this.finish(slot)?.reject(this.exitProblem(slot.error));
      if (!this.closed) this.dispatch();
    });
    this.slots.push(slot);
    return slot;
  }

  /** Why a thread died under a task: the heap cap is the body's doing (413), anything else the server's. */
  private exitProblem(error: Error | undefined): Error {
    if (this.closed) return new HttpProblem(503, 'the server is shutting down');
    if ((error as { code?: string } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
      return new HttpProblem(
        413,
        'the body needs more memory to parse than the server allows for one request',
      );
    }
    return new Error(`the parse thread stopped: ${error?.message ?? 'it exited'}`);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.queue.splice(0)) {
      pending.reject(new HttpProblem(503, 'the server is shutting down'));
    }
    for (const slot of this.slots) clearTimeout(slot.timer);
    await Promise.all(this.slots.map((s) => s.thread.terminate()));
  }
}
