/**
 * Search directions for the three methods (docs/MATH.md, "Algorithms"). Each returns p and the shift lambda
 * it needed, or null when no finite direction exists (a numerical breakdown).
 */
import { LuDecomposition, Matrix } from 'ml-matrix';
import type { Kernels } from './kernels.js';
import { solveShifted } from './shifted-cholesky.js';
import { NO_STOP, type Stopper } from './stop.js';
import { diagonalRatio, solveUpper } from './triangular.js';

export interface Direction {
  p: Float64Array;
  shift: number;
}

/**
 * Newton: (H + lambda I) p = -g with the smallest shift in {0, t, 2t, ...} for which the Cholesky
 * factorisation succeeds and `accept(p)` holds. Without `accept` it is the paper's plain step: no shift
 * even where H is indefinite (only a singular H falls back to a shift).
 */
export function newtonDirection(
  H: Float64Array,
  g: Float64Array,
  d: number,
  accept?: (p: Float64Array) => boolean,
  stop: Stopper = NO_STOP,
): Direction | null {
  const rhs = g.map((v) => -v);
  if (!accept) {
    stop.tick(d * d * d);
    const rows = Array.from({ length: d }, (_, i) => Array.from(H.subarray(i * d, (i + 1) * d)));
    const lu = new LuDecomposition(new Matrix(rows));
    if (!lu.isSingular()) {
      const p = Float64Array.from(lu.solve(Matrix.columnVector(Array.from(rhs))).getColumn(0));
      if (p.every(Number.isFinite)) return { p, shift: 0 };
    }
  }
  const solved = solveShifted(H, d, rhs, accept, stop);
  return solved ? { p: solved.solution, shift: solved.shift } : null;
}

/** Below this min/max |R_kk| ratio the stacked Gauss-Newton matrix counts as singular and gets a shift. */
const GN_SINGULAR_RATIO = 1e-12;

/**
 * Gauss-Newton: p minimises || J p + rho ||^2 + || W A p + W A x ||^2 + lambda ||p||^2, solved by QR of the
 * stacked matrix (no normal equations): p = R^-1 Q^T (-residual), with the thin QR of the solver's kernels
 * (WebAssembly, on SOLVER_THREADS threads); lambda = 0 unless the stack is numerically rank-deficient.
 */
export function gaussNewtonDirection(
  J: Float64Array,
  rho: Float64Array,
  regRows: Float64Array | null,
  regResidual: Float64Array | null,
  n: number,
  d: number,
  kernels: Kernels,
  stop: Stopper = NO_STOP,
): Direction | null {
  const blocks: Array<[Float64Array, Float64Array]> = [[J, rho]];
  if (regRows && regResidual) blocks.push([regRows, regResidual]);
  let maxColumn = 0;
  for (let j = 0; j < d; j++) {
    let c = 0;
    for (const [rows] of blocks) for (let i = 0; i < n; i++) c += rows[i * d + j] ** 2;
    maxColumn = Math.max(maxColumn, c);
  }
  if (!Number.isFinite(maxColumn)) return null;
  const base = 1e-8 * (maxColumn > 0 ? maxColumn : 1);
  for (let shift = 0, attempt = 0; attempt <= 200; attempt++, shift = shift === 0 ? base : 2 * shift) {
    const extra = shift > 0 ? d : 0;
    const m = blocks.length * n + extra;
    // row-major, as the kernels take it: the blocks' rows one after another, then sqrt(lambda) I
    const rows = kernels.alloc(m * d);
    const rhs = kernels.alloc(m);
    blocks.forEach(([block, residual], b) => {
      rows.set(block, b * n * d);
      for (let i = 0; i < n; i++) rhs[b * n + i] = -residual[i];
    });
    for (let j = 0; j < extra; j++) rows[(blocks.length * n + j) * d + j] = Math.sqrt(shift);
    const { u, r } = kernels.thinQr(rows, m, d, stop);
    if (diagonalRatio(r, d) <= GN_SINGULAR_RATIO) continue;
    const p = solveUpper(r, d, kernels.combineRows(u, m, d, rhs));
    if (p.every(Number.isFinite)) return { p, shift };
  }
  return null;
}
