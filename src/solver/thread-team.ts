/**
 * The helper threads one solve shares its row loops with (SOLVER_THREADS - 1 of them; the calling thread
 * is the last member). The solver is synchronous, so the hand-off is too: run() posts each helper its
 * share (arrays in shared memory travel by reference), computes its own, then blocks on Atomics.wait until
 * every helper has marked its status word with the call's number. A round trip costs ~20 us.
 *
 * A helper that fails or stops answering never hangs or corrupts a solve: its share is computed again by
 * the calling thread (shares are idempotent: the same rows, the same slot, the same numbers), an error
 * that is real then surfaces there, and the helper is replaced at the next call.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { KernelName, Kernels } from './kernel-interface.js';
import { compiledModule } from './kernels-wasm.js';
import { type RowTask, runRowTask } from './row-tasks.js';
import type { Stopper } from './stop.js';

/** Where the build puts the helper's body: beside this file in dist/solver, or there when this is src (vitest). */
function teamThreadFile(): URL {
  const here = import.meta.url;
  const url = here.endsWith('.ts')
    ? new URL('../../dist/solver/team-thread.js', here)
    : new URL('./team-thread.js', here);
  if (!existsSync(url)) throw new Error(`${fileURLToPath(url)} does not exist: run 'npm run build'`);
  return url;
}

/** A helper late by more than this (plus 20 times the caller's own share) counts as lost. */
const GRACE_MS = 2000;

export class ThreadTeam {
  /** status word per helper: the number of the last call it finished (negative: it failed) */
  private readonly status: Int32Array;
  private readonly helpers: Array<Worker | null>;
  private call = 0;

  constructor(
    helperCount: number,
    private readonly kernels: KernelName,
  ) {
    this.status = new Int32Array(new SharedArrayBuffer(4 * Math.max(helperCount, 1)));
    this.helpers = Array.from({ length: helperCount }, () => null);
  }

  /** Members, the calling thread included. */
  get size(): number {
    return this.helpers.length + 1;
  }

  /**
   * Runs tasks[0] on this thread (polling `stop`) and tasks[h + 1] on helper h, and returns when all
   * are done. A stop thrown by this thread's share is rethrown once the helpers have finished theirs, so
   * the caller never reuses memory a helper still writes to.
   */
  run(tasks: RowTask[], kernels: Kernels, stop: Stopper): void {
    this.call = (this.call % 0x3fffffff) + 1;
    const call = this.call;
    const shares = tasks.length - 1;
    for (let h = 0; h < shares; h++) this.helper(h).postMessage({ call, index: h, task: tasks[h + 1] });
    const began = performance.now();
    try {
      runRowTask(kernels, tasks[0], stop);
    } finally {
      const deadline = performance.now() + GRACE_MS + 20 * (performance.now() - began);
      for (let h = 0; h < shares; h++) {
        if (!this.await(h, call, deadline)) {
          // lost or failed: its share again, here (a real error now surfaces in this thread)
          this.replace(h);
          runRowTask(kernels, tasks[h + 1]);
        }
      }
    }
  }

  /** True when helper h finished `call`; false when it failed or is past the deadline. */
  private await(h: number, call: number, deadline: number): boolean {
    for (;;) {
      const seen = Atomics.load(this.status, h);
      if (seen === call) return true;
      if (seen === -call) return false;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.wait(this.status, h, seen, left);
    }
  }

  private helper(h: number): Worker {
    const existing = this.helpers[h];
    if (existing) return existing;
    const worker = new Worker(teamThreadFile(), {
      // the WebAssembly kernels' compiled module: shared code, so a new helper runs this thread's tier-ups
      workerData: {
        status: this.status,
        kernels: this.kernels,
        module: this.kernels === 'wasm' ? compiledModule() : null,
      },
      // the helper's stdout/stderr would go through this thread's event loop, which run() blocks
      stdout: true,
      stderr: true,
    });
    // idle helpers must not keep a process alive (a CLI solve ends when its work does)
    worker.unref();
    worker.on('error', () => this.replace(h, worker));
    this.helpers[h] = worker;
    return worker;
  }

  /** Drops helper h (or `which`, if it still is helper h); the next call starts a new one. */
  private replace(h: number, which: Worker | null = this.helpers[h]): void {
    if (!which || this.helpers[h] !== which) return;
    this.helpers[h] = null;
    void which.terminate().catch(() => undefined);
  }

  /** For tests: stops helper h as if it had crashed. */
  async crashHelperForTest(h: number): Promise<void> {
    const worker = this.helpers[h];
    if (worker) await worker.terminate();
  }

  async close(): Promise<void> {
    const all = this.helpers.splice(0).filter((w): w is Worker => w !== null);
    await Promise.all(all.map((w) => w.terminate()));
  }
}
