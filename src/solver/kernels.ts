/**
 * Which implementation runs the solver's row loops: WebAssembly with 128-bit SIMD (kernels-wasm.ts,
 * compiled from assembly/kernels.ts by `npm run build`) or the plain TypeScript reference (kernels-js.ts).
 * Both compute the same sums in the same order: the same numbers bit for bit (kernels-wasm.ts says why).
 *
 * The solver reads no environment: entry points call useKernels() with what they were configured with
 * (LEVINV_KERNELS), and a LeverageModel takes the choice in force when it is made (or one it is given).
 */
import { availableParallelism } from 'node:os';
import type { KernelName, Kernels } from './kernel-interface.js';
import { jsKernels } from './kernels-js.js';
import { ParallelKernels } from './kernels-parallel.js';
import { loadWasmKernels, wasmLoadError } from './kernels-wasm.js';
import { ThreadTeam } from './thread-team.js';

export type { KernelName, Kernels, RowTerms } from './kernel-interface.js';

/** `auto`: WebAssembly when it loads (a build produced it and the runtime has SIMD), else `js`. */
export const KERNEL_CHOICES = ['auto', 'wasm', 'js'] as const;
export type KernelChoice = (typeof KERNEL_CHOICES)[number];

let choice: KernelChoice = 'auto';

/** LEVINV_KERNELS as entry points read it: unset or empty is `auto`; anything else must be a choice. */
export function parseKernelChoice(value: string | undefined): KernelChoice {
  if (value === undefined || value === '') return 'auto';
  if (!(KERNEL_CHOICES as readonly string[]).includes(value)) {
    throw new RangeError(`expected one of ${KERNEL_CHOICES.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as KernelChoice;
}

/**
 * Sets the kernels for every LeverageModel made from now on (in this thread: each worker thread has its
 * own). `wasm` throws when the WebAssembly kernels cannot be loaded; `auto` falls back to `js` silently.
 */
export function useKernels(next: KernelChoice): KernelName {
  if (!KERNEL_CHOICES.includes(next)) {
    throw new RangeError(`kernels must be one of ${KERNEL_CHOICES.join(', ')}, got ${String(next)}`);
  }
  if (next === 'wasm' && !loadWasmKernels()) {
    throw new Error(`the WebAssembly kernels cannot be loaded: ${wasmLoadError()}`);
  }
  choice = next;
  return currentKernels().name;
}

/** The most threads one solve may use (SOLVER_THREADS is checked against it). */
export const MAX_SOLVER_THREADS = 64;

/**
 * SOLVER_THREADS when unset: the cores this process may use, shared among the solves it runs at once
 * (the worker's concurrency), at least 1.
 */
export function defaultSolverThreads(concurrentSolves = 1): number {
  return Math.max(
    1,
    Math.min(MAX_SOLVER_THREADS, Math.floor(availableParallelism() / Math.max(concurrentSolves, 1))),
  );
}

let threads = 1;
let parallel: ParallelKernels | null = null;
let team: ThreadTeam | null = null;

/**
 * Sets how many threads (this one included) each LeverageModel made from now on in this thread splits
 * its row loops over (SOLVER_THREADS). Helper threads start at the first call big enough to split.
 */
export function useSolverThreads(count: number): number {
  if (!Number.isInteger(count) || count < 1 || count > MAX_SOLVER_THREADS) {
    throw new RangeError(
      `solver threads must be an integer from 1 to ${MAX_SOLVER_THREADS}, got ${String(count)}`,
    );
  }
  threads = count;
  return threads;
}

/** The thread count in force (useSolverThreads). */
export function solverThreads(): number {
  return threads;
}

/** The kernels the choices in force resolve to. */
export function currentKernels(): Kernels {
  const base = choice === 'js' ? jsKernels : (loadWasmKernels() ?? jsKernels);
  if (threads === 1) return base;
  if (!parallel || parallel.threads !== threads || parallel.name !== base.name) {
    // a team loads its kernels by name: a new choice or count needs new helpers
    void team?.close();
    team = new ThreadTeam(threads - 1, base.name);
    parallel = new ParallelKernels(base, team);
  }
  return parallel;
}

/** The implementation by name (tests and benchmarks); null when `wasm` cannot be loaded. */
export function kernelsNamed(name: KernelName): Kernels | null {
  return name === 'js' ? jsKernels : loadWasmKernels();
}
