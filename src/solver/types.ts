/**
 * The solver's data types. Matrices are dense row-major Float64Arrays with explicit shapes, so that the
 * hot loops index them directly and the same buffers can travel as binary blobs.
 */

export type Method = 'newton' | 'gauss-newton' | 'gd';
export const METHODS: readonly Method[] = ['newton', 'gauss-newton', 'gd'];

/** `armijo`: fraction-to-boundary plus backtracking (the default). `none`: the paper's plain step. */
export type LineSearch = 'armijo' | 'none';
export const LINE_SEARCHES: readonly LineSearch[] = ['armijo', 'none'];

/** An inverse leverage score problem: find x with sigma(diag(A x - b)^-1 A) = sigma. */
export interface Problem {
  /** rows */
  n: number;
  /** columns */
  d: number;
  /** n x d, row-major */
  A: Float64Array;
  /** length n */
  b: Float64Array;
  /** target leverage scores, length n, each in [0, 1] */
  sigma: Float64Array;
  /** the cell to search: +1 or -1 per row (sign of a_i^T x - b_i); default all +1 */
  signs?: Int8Array;
  /** start point, length d; default the analytic centre of the cell */
  x0?: Float64Array;
  /** regularizer weights w: one number for every row, or one per row; default none (w = 0) */
  regularization?: number | Float64Array;
}

export interface RecordOptions {
  /** keep every k-th iterate (the first and the last are always kept); default 1 */
  every: number;
  /** keep x in each kept iterate; default true */
  includeX: boolean;
}

export interface SolveOptions {
  method: Method;
  /** default 100 for newton and gauss-newton, 20000 for gd */
  maxIterations: number;
  /** stop when ||grad L|| <= tolerance; default 1e-10 */
  tolerance: number;
  /** stop when |L_prev - L| <= lossChangeTolerance * max(L_prev, tiny); default 0 (off) */
  lossChangeTolerance: number;
  /** wall-clock budget for the iterations, in seconds; default Infinity */
  maxSeconds: number;
  lineSearch: LineSearch;
  /** gd with lineSearch `none`: the fixed step eta; otherwise the first trial step; default 1 */
  stepSize: number;
  record: RecordOptions;
}

/** One iteration's record, as given to hooks.onIterate and kept in the result. */
export interface Iterate {
  /** 0 is the start point */
  iteration: number;
  loss: number;
  gradNorm: number;
  /** the step length alpha taken to reach this iterate (0 at the start) */
  step: number;
  /** the Hessian shift lambda used for the step (0 for gd or when none was needed) */
  shift: number;
  /** omitted from kept iterates when record.includeX is false; always present in onIterate */
  x?: number[];
}

export interface SolveHooks {
  onIterate?: (iterate: Iterate) => void;
  /**
   * Checked once per iteration; an aborted run ends with reason `aborted`. Any object with `aborted` works
   * (an AbortSignal, or a flag in shared memory that another thread sets while the solve blocks this one).
   */
  signal?: { readonly aborted: boolean };
  /** injectable clock (ms) for tests; default performance.now */
  now?: () => number;
}

export type StopReason =
  | 'gradient-tolerance'
  | 'loss-change'
  | 'max-iterations'
  | 'max-seconds'
  | 'aborted'
  | 'line-search-failed';

export interface SolveResult {
  method: Method;
  x: number[];
  loss: number;
  gradNorm: number;
  iterations: number;
  converged: boolean;
  reason: StopReason;
  /** sigma(x) at the returned x */
  leverage: number[];
  /** max_i |sigma_i(x) - sigma_i| */
  maxAbsResidual: number;
  /** the start point actually used */
  start: number[];
  timings: { startMs: number; solveMs: number; totalMs: number };
  warnings: string[];
  /** iterates kept according to options.record */
  iterates: Iterate[];
}
