/**
 * Which implementation runs the solver's row loops: WebAssembly with 128-bit SIMD (kernels-wasm.ts,
 * compiled from assembly/kernels.ts by `npm run build`) or the plain TypeScript reference (kernels-js.ts).
 * Both compute the same sums; they differ by rounding only (the tests hold them to 1e-12 relative).
 *
 * The solver reads no environment: entry points call useKernels() with what they were configured with
 * (LEVINV_KERNELS), and a LeverageModel takes the choice in force when it is made (or one it is given).
 */
import { availableParallelism } from 'node:os';
import { jsKernels } from './kernels-js.js';
import { ParallelKernels } from './kernels-parallel.js';
import { loadWasmKernels, wasmLoadError } from './kernels-wasm.js';
import type { Stopper } from './stop.js';
import { ThreadTeam } from './thread-team.js';

/** `auto`: WebAssembly when it loads (a build produced it and the runtime has SIMD), else `js`. */
export const KERNEL_CHOICES = ['auto', 'wasm', 'js'] as const;
export type KernelChoice = (typeof KERNEL_CHOICES)[number];
export type KernelName = 'wasm' | 'js';

export interface RowTerms {
  /** B A_x = Sigma A_x - P2 A_x, n x d */
  bax: Float64Array;
  /** the Hessian's O(n d^2) row terms (d x d, full), or null when not asked for */
  H: Float64Array | null;
}

/**
 * The row loops (each O(n d^2) or O(n d^3)); every argument matrix is row-major, every result new, except
 * that the n x d results can go to a given `out` (n x d, overwritten), which spares allocating and
 * first-touching 8 n d bytes: about 5 ms per 16 MB on these machines, a tenth of a Newton iteration.
 */
export interface Kernels {
  readonly name: KernelName;
  /** how many threads a call on n rows of d runs on */
  threadsFor(n: number, d: number): number;
  /** Householder QR of A_x (n x d): the thin Q (row-major, u_i its rows) and R (d x d upper), A_x = Q R */
  thinQr(
    ax: Float64Array,
    n: number,
    d: number,
    stop: Stopper,
    out?: Float64Array,
  ): { u: Float64Array; r: Float64Array };
  /** A^T diag(w) A, d x d */
  weightedGram(A: Float64Array, n: number, d: number, w: Float64Array, stop?: Stopper): Float64Array;
  /** ||u_i||^2 per row */
  rowSquares(u: Float64Array, n: number, d: number): Float64Array;
  /** u_i^T G u_i per row (G symmetric d x d) */
  quadForms(u: Float64Array, n: number, d: number, G: Float64Array, stop: Stopper): Float64Array;
  /** sum_i c_i a_i, a d-vector */
  combineRows(a: Float64Array, n: number, d: number, c: Float64Array): Float64Array;
  /** sum_i u_ik u_il u_im over k <= l <= m (lexicographic), d(d+1)(d+2)/6 numbers */
  thirdMoments(u: Float64Array, n: number, d: number, stop: Stopper): Float64Array;
  /** U S (S d x d, full), n x d; `out` may be `u` itself */
  multiplyRows(u: Float64Array, n: number, d: number, S: Float64Array, out?: Float64Array): Float64Array;
  /** Y C, n x d: row i is sum_{k <= l} w_kl u_ik u_il C[(k,l), :] with w = 1 on the diagonal, 2 off it */
  pairRows(
    u: Float64Array,
    n: number,
    d: number,
    C: Float64Array,
    stop: Stopper,
    out?: Float64Array,
  ): Float64Array;
  /** B A_x and (when `hessian`) the Hessian's row terms, from A_x, P2 A_x, sigma(x), rho and P2 rho */
  rowTerms(
    ax: Float64Array,
    p2ax: Float64Array,
    lev: Float64Array,
    rho: Float64Array,
    p2rho: Float64Array,
    n: number,
    d: number,
    hessian: boolean,
    stop: Stopper,
    bax?: Float64Array,
  ): RowTerms;
  /**
   * A zeroed array for the kernels' n-long inputs (A_x, rho, ...): shared memory when the kernels run on
   * several threads (kernels-parallel.ts), so that the threads read it where it is instead of a copy.
   */
  alloc(length: number): Float64Array;
}

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
