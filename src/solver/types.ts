/**
 * The solver's data types. Matrices are dense row-major Float64Arrays with explicit shapes, so that the
 * hot loops index them directly and the same buffers can travel as binary blobs.
 */

export type Method = 'newton' | 'gauss-newton' | 'gd';
export const METHODS: readonly Method[] = ['newton', 'gauss-newton', 'gd'];

/**
 * Where a run starts when the problem has no x0. `global` (the default): the point with the target scores
 * found from the scores alone, and with it the cell (global-start.ts; with `signs`, the point in that
 * cell); `centre`: the analytic centre of the cell `signs` names, or of the all-positive one.
 */
export type StartChoice = 'global' | 'centre';
export const START_CHOICES: readonly StartChoice[] = ['global', 'centre'];

/** How a run's start was found: given (x0), by the global start without or with signs, or the centre. */
export type StartMethod = 'x0' | 'global' | 'global-signs' | 'centre';

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
  /**
   * the cell to search: +1 or -1 per row (sign of a_i^T x - b_i); default the cell x0 lies in (the signs
   * of its slacks), or all +1 without x0
   */
  signs?: Int8Array;
  /** start point, length d, strictly inside the cell; default per SolveOptions.start */
  x0?: Float64Array;
  /** regularizer weights w: one number for every row, or one per row; default none (w = 0) */
  regularization?: number | Float64Array;
}

export interface RecordOptions {
  /** keep every k-th iterate (the first and the last are always kept); default 1 */
  every: number;
  /** keep x in each kept iterate; default true */
  includeX: boolean;
  /**
   * at most this many kept iterates in the result (the first limit - 1, then the last; the result's
   * warnings say how many were dropped); default 10000
   */
  limit: number;
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
  /** where to start without x0; default `global` */
  start: StartChoice;
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

/**
 * Everything needed to continue a run exactly where it stopped: solve(problem, options, { resume }) then
 * goes on with iteration `iteration + 1` and follows the same path the uninterrupted run would have
 * (the solver is deterministic), reporting `iterations` counted from the original start.
 */
export interface Checkpoint {
  /** the iterate's number (0 is the start point) */
  iteration: number;
  /** the iterate */
  x: number[];
  /** gd: the next trial step (it grows after a success); 1 for the other methods */
  trialStep: number;
  /** the loss before the step that reached `x` (lossChangeTolerance compares them); null at iteration 0 */
  previousLoss: number | null;
  /** the run's start point (reported as `start` in the result) */
  start: number[];
  /** ms the start-point search took, and ms spent from the beginning of the run up to this iterate */
  startMs: number;
  elapsedMs: number;
  /** how the start was found and what it left open (absent in checkpoints written before it existed) */
  startInfo?: StartInfo;
}

export interface StartInfo {
  method: StartMethod;
  /** set when other points may have the same scores: why, and what would settle it */
  ambiguity?: string;
}

export interface SolveHooks {
  /** every iterate, with the checkpoint that continues the run from it */
  onIterate?: (iterate: Iterate, checkpoint: Checkpoint) => void;
  /**
   * continue a run from a checkpoint it reported. maxSeconds counts the time already spent; a run resumed
   * with none left ends at once with reason `max-seconds` at the checkpoint's iterate. Kept iterates and
   * onIterate start after the checkpoint's iterate (the caller has it). A checkpoint that does not fit the
   * problem is SolverError INVALID_OPTION (or X0_OUTSIDE_CELL), field `resume`.
   */
  resume?: Checkpoint;
  /**
   * Checked between iterations and inside the long phases (the start-point search, the O(n d^3) kernels), so
   * that a run stops within about a second. Aborted after the first iterate: the run ends with reason
   * `aborted` at the last complete iterate. Aborted before it: SolverError ABORTED. Any object with
   * `aborted` works (an AbortSignal, or a flag in shared memory that another thread sets while the solve
   * blocks this one). maxSeconds is enforced the same way (before the first iterate: SolverError
   * TIME_LIMIT).
   */
  signal?: { readonly aborted: boolean };
  /** injectable clock (ms) for tests; default performance.now */
  now?: () => number;
}

/**
 * Why a run stopped. Converged: `gradient-tolerance` (||grad L|| <= tolerance), `loss-change` (see
 * lossChangeTolerance), `step-rounding` (Newton or Gauss-Newton: the unshifted step would move no slack by
 * more than 64 times its rounding error, so x cannot be improved in double precision; a scale-invariant
 * test for problems whose gradient cannot reach `tolerance`, see settled.ts). Not converged: the others.
 */
export type StopReason =
  | 'gradient-tolerance'
  | 'loss-change'
  | 'step-rounding'
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
  /** how it was found: `x0`, `global` (no signs given), `global-signs`, or `centre` */
  startMethod: StartMethod;
  /** the cell of x: the sign of each slack a_i^T x - b_i */
  signs: number[];
  /** how many slacks at x are negative */
  negativeSlacks: number;
  /** set when other points may have the same scores (b = 0, too few rows, ...): why, and what would settle it */
  ambiguity?: string;
  /** other points with exactly the scores of x (b = 0: -x) */
  alternatives?: number[][];
  /** threads: those the row loops of the Newton phase ran on (SOLVER_THREADS; 1 for small problems) */
  timings: { startMs: number; solveMs: number; totalMs: number; threads: number };
  warnings: string[];
  /** iterates kept according to options.record */
  iterates: Iterate[];
}
