/**
 * The kernels on several threads (SOLVER_THREADS): each call splits the rows into one contiguous range
 * per thread, runs the base kernels (WebAssembly or TypeScript) on each range (row-tasks.ts, thread-team.ts)
 * and adds the ranges' sums in range order. The QR is the tall-skinny QR: each range's own QR, then the QR
 * of the stacked R factors, whose Q blocks turn each range's Q into its rows of the whole Q.
 *
 * Results differ from one thread's only by the order of the sums (the tests hold them to 1e-12 relative),
 * and a thread count always gives the same bits. Small calls run on the calling thread alone: below
 * PARALLEL_WORK multiply-adds a hand-off (~20 us) costs more than it saves.
 */
import type { Kernels, RowTerms } from './kernel-interface.js';
import { mirrorUpper } from './kernels-js.js';
import { partialLength, type RowOp, type RowTask } from './row-tasks.js';
import { NO_STOP, type Stopper } from './stop.js';
import type { ThreadTeam } from './thread-team.js';

/** n d^2 of a call below which it runs on one thread. */
export const PARALLEL_WORK = 1 << 17;

function shared(length: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(8 * Math.max(length, 1)), 0, length);
}

/** `given` when the threads can write it, else a new shared array of `length`. */
function writable(given: Float64Array | undefined, length: number): Float64Array {
  return given && given.buffer instanceof SharedArrayBuffer ? given : shared(length);
}

/** `out` when given (the result copied there if the threads could not write it), else `result`. */
function deliver(result: Float64Array, out: Float64Array | undefined): Float64Array {
  if (!out || out === result) return result;
  out.set(result);
  return out;
}

/** `a` itself when the threads can read it, else a copy in shared memory. */
function reachable(a: Float64Array): Float64Array {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const copy = shared(a.length);
  copy.set(a);
  return copy;
}

export class ParallelKernels implements Kernels {
  readonly name: Kernels['name'];

  constructor(
    private readonly base: Kernels,
    private readonly team: ThreadTeam,
  ) {
    this.name = base.name;
  }

  get threads(): number {
    return this.team.size;
  }

  alloc(length: number): Float64Array {
    return shared(length);
  }

  threadsFor(n: number, d: number): number {
    return this.shares(n, d);
  }

  /** The number of ranges for n rows of d (1: run on this thread), each at least `minRows` long. */
  private shares(n: number, d: number, minRows = 1): number {
    if (n * d * d < PARALLEL_WORK) return 1;
    return Math.max(1, Math.min(this.team.size, Math.floor(n / Math.max(minRows, 1))));
  }

  /** Runs `op` over `shares` ranges; returns the ranges' sums added in order (or null when it has none). */
  private split(
    op: RowOp,
    n: number,
    d: number,
    shares: number,
    input: Record<string, Float64Array>,
    output: Record<string, Float64Array>,
    stop: Stopper,
    hessian = false,
  ): { partial: Float64Array | null; length: number } {
    const length = partialLength(op, d, hessian);
    const partial = length > 0 ? shared(length * shares) : null;
    const reach: Record<string, Float64Array> = {};
    for (const [key, value] of Object.entries(input)) reach[key] = reachable(value);
    const tasks: RowTask[] = [];
    for (let s = 0; s < shares; s++) {
      const i0 = Math.floor((n * s) / shares);
      const i1 = Math.floor((n * (s + 1)) / shares);
      tasks.push({ op, d, i0, i1, slot: s, input: reach, output, partial, hessian });
    }
    this.team.run(tasks, this.base, stop);
    return { partial, length };
  }

  private static total(partial: Float64Array, length: number, shares: number): Float64Array {
    const out = partial.slice(0, length);
    for (let s = 1; s < shares; s++) {
      const at = s * length;
      for (let j = 0; j < length; j++) out[j] += partial[at + j];
    }
    return out;
  }

  thinQr(
    ax: Float64Array,
    n: number,
    d: number,
    stop: Stopper,
    out?: Float64Array,
  ): { u: Float64Array; r: Float64Array } {
    // every range needs at least d rows for its own R to be d x d
    const shares = this.shares(n, d, 2 * d);
    if (shares === 1) return this.base.thinQr(ax, n, d, stop, out);
    const u = writable(out, n * d);
    const { partial } = this.split('thinQr', n, d, shares, { ax }, { u }, stop);
    // [R_0; R_1; ...] = Q_s R: range s's rows of the whole Q are Q_s-block s times its own Q.
    const stacked = this.base.thinQr(partial!, shares * d, d, stop);
    const S = shared(stacked.u.length);
    S.set(stacked.u);
    this.split('multiplyRows', n, d, shares, { u, S }, { out: u }, stop);
    return { u: deliver(u, out), r: stacked.r };
  }

  weightedGram(
    A: Float64Array,
    n: number,
    d: number,
    w: Float64Array,
    stop: Stopper = NO_STOP,
  ): Float64Array {
    const shares = this.shares(n, d);
    if (shares === 1) return this.base.weightedGram(A, n, d, w, stop);
    const { partial, length } = this.split('weightedGram', n, d, shares, { A, w }, {}, stop);
    // each range's Gram matrix is already mirrored
    return ParallelKernels.total(partial!, length, shares);
  }

  rowSquares(u: Float64Array, n: number, d: number): Float64Array {
    const shares = this.shares(n, d);
    if (shares === 1) return this.base.rowSquares(u, n, d);
    const out = shared(n);
    this.split('rowSquares', n, d, shares, { u }, { out }, NO_STOP);
    return out;
  }

  quadForms(u: Float64Array, n: number, d: number, G: Float64Array, stop: Stopper): Float64Array {
    const shares = this.shares(n, d);
    if (shares === 1) return this.base.quadForms(u, n, d, G, stop);
    const out = shared(n);
    this.split('quadForms', n, d, shares, { u, G }, { out }, stop);
    return out;
  }

  combineRows(a: Float64Array, n: number, d: number, c: Float64Array): Float64Array {
    const shares = this.shares(n, d);
    if (shares === 1) return this.base.combineRows(a, n, d, c);
    const { partial, length } = this.split('combineRows', n, d, shares, { a, c }, {}, NO_STOP);
    return ParallelKernels.total(partial!, length, shares);
  }

  thirdMoments(u: Float64Array, n: number, d: number, stop: Stopper): Float64Array {
    const shares = this.shares(n, d);
    if (shares === 1) return this.base.thirdMoments(u, n, d, stop);
    const { partial, length } = this.split('thirdMoments', n, d, shares, { u }, {}, stop);
    return ParallelKernels.total(partial!, length, shares);
  }

  pairRows(
    u: Float64Array,
    n: number,
    d: number,
    C: Float64Array,
    stop: Stopper,
    given?: Float64Array,
  ): Float64Array {
    const shares = this.shares(n, d);
    if (shares === 1) return this.base.pairRows(u, n, d, C, stop, given);
    const out = writable(given, n * d);
    this.split('pairRows', n, d, shares, { u, C }, { out }, stop);
    return deliver(out, given);
  }

  multiplyRows(u: Float64Array, n: number, d: number, S: Float64Array, given?: Float64Array): Float64Array {
    // one factor for all rows: every range takes its block of S repeated
    const shares = this.shares(n, d);
    if (shares === 1) return this.base.multiplyRows(u, n, d, S, given);
    const repeated = shared(shares * d * d);
    for (let s = 0; s < shares; s++) repeated.set(S.subarray(0, d * d), s * d * d);
    // `given` may be `u`: each range reads its rows before it writes them
    const out = writable(given, n * d);
    this.split('multiplyRows', n, d, shares, { u, S: repeated }, { out }, NO_STOP);
    return deliver(out, given);
  }

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
    given?: Float64Array,
  ): RowTerms {
    const shares = this.shares(n, d);
    if (shares === 1) return this.base.rowTerms(ax, p2ax, lev, rho, p2rho, n, d, hessian, stop, given);
    const bax = writable(given, n * d);
    const { partial, length } = this.split(
      'rowTerms',
      n,
      d,
      shares,
      { ax, p2ax, lev, rho, p2rho },
      { bax },
      stop,
      hessian,
    );
    if (!hessian) return { bax: deliver(bax, given), H: null };
    const H = ParallelKernels.total(partial!, length, shares);
    mirrorUpper(H, d);
    return { bax: deliver(bax, given), H };
  }
}
