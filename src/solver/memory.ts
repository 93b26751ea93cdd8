/**
 * estimateSolveBytes: the working memory a solve of a given shape needs, so that a service can refuse a
 * problem before it runs (a 3.3 MB body of n = 2001, d = 700 asks Newton for 1.4 GB). It counts the
 * Float64Arrays the solver holds at its peak and adds V8's garbage allowance. bench/memory-estimate.ts
 * compares it with measured peak RSS above an idle process: never below it, 1.2x to 1.7x where the arrays
 * dominate (2001 x 700 Newton: 1678 MB estimated, 1375 MB measured; 100000 x 20 Newton 252 vs 167 MB),
 * more where the fixed allowances or the monotone rule below do (500 x 12: 73 vs 9 MB).
 */
import { choosePath, type DerivativePath, DIRECT_MAX_ROWS } from './leverage-model.js';
import type { Method } from './types.js';

/** Allowance on the counted arrays for what they leave out (small vectors, typed-array headers). */
const MARGIN = 1.1;
/** The solver's fixed overhead beyond its arrays: compiled code, pair tables, ml-matrix objects. */
const FIXED_BYTES = 8 * 2 ** 20;
/**
 * V8 frees a dead typed array's memory only at a garbage collection, and it forces one for external memory
 * only after about 64 MB more has been allocated since the last: that much garbage can sit on top of the
 * live arrays (measured: a gd run whose live arrays are 20 MB peaked at 66 MB).
 */
const GC_SLACK_BYTES = 64 * 2 ** 20;

/**
 * Bytes of peak working memory for a solve of an n x d problem by `method` (problem arrays included).
 * Monotone in n and in d: past the switch from the direct (n x n) path to the factored one a problem can
 * need less than a slightly smaller one, but the estimate keeps the larger figure, so that a limit never
 * accepts a problem while refusing a smaller one.
 */
export function estimateSolveBytes(n: number, d: number, method: Method): number {
  const m = (d * (d + 1)) / 2;
  // The largest problem with this d and at most n rows that takes the direct path.
  const directRows = Math.min(n, DIRECT_MAX_ROWS, Math.ceil(m) - 1);
  let doubles = arrays(n, d, method, choosePath(n, d));
  if (directRows >= d) doubles = Math.max(doubles, arrays(directRows, d, method, 'direct'));
  return Math.ceil(8 * MARGIN * doubles + GC_SLACK_BYTES + FIXED_BYTES);
}

/** Doubles held at the peak of a solve on the given derivative path. */
function arrays(n: number, d: number, method: Method, path: DerivativePath): number {
  const nd = n * d;
  // A, b, sigma and per-row weights; the validation QR's working copy of A.
  const problem = 2 * nd + 4 * n;
  // The current Point and the line search's trial Point (s, lev, rho, inverse slacks: n each; A_x and its
  // Q: n x d each), plus the QR's working copy and Q while a Point is built.
  const points = 2 * (2 * nd + 4 * n) + 2 * nd;
  // d x d matrices: G, H, Ck, GC, and the copies ml-matrix makes for Cholesky / LU.
  const small = 10 * d * d;
  return problem + points + small + derivatives(n, d, method, path);
}

/**
 * Doubles the derivatives of one iteration allocate (docs/MATH.md, "The factored and direct paths";
 * leverage-model.ts, step-direction.ts).
 */
function derivatives(n: number, d: number, method: Method, path: DerivativePath): number {
  const nd = n * d;
  const m = (d * (d + 1)) / 2;
  if (path === 'direct') {
    // n x n: P and P o P for the gradient; B for the Jacobian; K, R P and P R P for the Hessian; plus
    // the P and P o P of the gradient-only evaluation just before (dead, maybe not yet collected).
    const previous = 2 * n * n;
    if (method === 'gd') return previous + 2 * n * n + n;
    if (method === 'gauss-newton') return previous + 3 * n * n + gaussNewtonStack(n, d) + 2 * nd;
    return previous + 6 * n * n + 3 * nd;
  }
  // Factored: the gradient needs only n-vectors.
  if (method === 'gd') return 2 * n;
  // The third moments of U (d(d+1)(d+2)/6), C = Y^T A_x (m x d) and the pair tables; P2 A_x and B A_x
  // (n x d each). The WebAssembly kernels stream rows through blocks of their memory, except the QR, whose
  // two n x d arrays there stand for the reference's column-major copies counted with the points.
  const factor = (d * (d + 1) * (d + 2)) / 6 + m * d + 3 * m + 2 * nd + 2 * n;
  if (method === 'gauss-newton') return factor + nd + gaussNewtonStack(n, d);
  return factor;
}

/** Gauss-Newton's stacked least squares [J; W A] (2n + d rows when regularized) and its right-hand side. */
function gaussNewtonStack(n: number, d: number): number {
  const rows = 2 * n + d;
  return rows * d + rows + n * d;
}
