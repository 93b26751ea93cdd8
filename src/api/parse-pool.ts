/**
 * A small pool of threads that parse large POST /solve bodies, so that JSON.parse, the schema and the
 * conversion to typed arrays of a 44 MB body (0.5-0.9 s of CPU) never block the API's event loop. The queue
 * is bounded: past it the API sheds load with 503 rather than holding ever more bodies in memory. Threads
 * start on first use and have a heap cap: a body built to exhaust memory kills its thread, not the API.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ParseTask } from './parse-thread.js';
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
}

interface Pending {
  task: ParseTask;
  resolve(outcome: SolveBodyOutcome): void;
  reject(error: Error): void;
}

interface Slot {
  thread: Worker;
  current?: Pending;
}

export class ParsePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private readonly size: number;
  private readonly maxQueue: number;
  private readonly maxHeapMb: number;
  private nextId = 0;
  private closed = false;

  constructor(options: ParsePoolOptions = {}) {
    this.size = options.size ?? Math.max(1, availableParallelism() - 1);
    this.maxQueue = options.maxQueue ?? 32;
    this.maxHeapMb = options.maxHeapMb ?? 1024;
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
      // Socket and zlib chunks own their memory and move for free; a view into a shared (pooled) buffer is
      // copied, and so is a chunk seen twice.
      const transfer = new Set<ArrayBuffer>();
      const { chunks, npy } = pending.task;
      for (const chunk of npy ? Object.values(npy.files).flat() : chunks) {
        const owns = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength;
        if (owns && chunk.buffer instanceof ArrayBuffer) transfer.add(chunk.buffer);
      }
      slot.thread.postMessage(pending.task, [...transfer]);
    }
  }

  private spawn(): Slot {
    const thread = new Worker(parseThreadFile(), {
      resourceLimits: { maxOldGenerationSizeMb: this.maxHeapMb },
    });
    thread.unref();
    const slot: Slot = { thread };
    thread.on('message', ({ outcome }: { id: number; outcome: SolveBodyOutcome }) => {
      const pending = slot.current;
      slot.current = undefined;
      pending?.resolve(outcome);
      this.dispatch();
    });
    // 'error' (e.g. ERR_WORKER_OUT_OF_MEMORY) is followed by 'exit'; the body is refused once, on exit.
    thread.on('error', () => {});
    thread.on('exit', () => {
      this.slots.splice(this.slots.indexOf(slot), 1);
      const pending = slot.current;
      slot.current = undefined;
      pending?.reject(
        this.closed
          ? new HttpProblem(503, 'the server is shutting down')
          : new HttpProblem(
              413,
              'the body needs more memory to parse than the server allows for one request',
            ),
      );
      if (!this.closed) this.dispatch();
    });
    this.slots.push(slot);
    return slot;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.queue.splice(0)) {
      pending.reject(new HttpProblem(503, 'the server is shutting down'));
    }
    await Promise.all(this.slots.map((s) => s.thread.terminate()));
  }
}
