/**
 * What the solver's row loops are (each O(n d^2) or O(n d^3)), apart from which implementation runs them:
 * the TypeScript reference (kernels-js.ts), WebAssembly with 128-bit SIMD (kernels-wasm.ts), both on
 * several threads (kernels-parallel.ts); kernels.ts chooses among them. The implementations import this
 * module, never the chooser.
 */
import type { Stopper } from './stop.js';

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
