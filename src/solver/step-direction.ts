/**
 * Search directions for the three methods (MATH.md, "Algorithms"). Each returns p and the shift lambda
 * it needed, or null when no finite direction exists (a numerical breakdown).
 */
import { LuDecomposition, Matrix } from 'ml-matrix';
import { HouseholderQr } from './householder-qr.js';
import { solveShifted } from './shifted-cholesky.js';
import { NO_STOP, type Stopper } from './stop.js';

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
 * stacked matrix (no normal equations), lambda = 0 unless the stack is numerically rank-deficient.
 */
export function gaussNewtonDirection(
  J: Float64Array,
  rho: Float64Array,
  regRows: Float64Array | null,
  regResidual: Float64Array | null,
  n: number,
  d: number,
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
    const cols = new Float64Array(m * d);
    const rhs = new Float64Array(m);
    blocks.forEach(([rows, residual], b) => {
      for (let i = 0; i < n; i++) {
        const r = b * n + i;
        rhs[r] = -residual[i];
        for (let j = 0; j < d; j++) cols[j * m + r] = rows[i * d + j];
      }
    });
    for (let j = 0; j < extra; j++) cols[j * m + blocks.length * n + j] = Math.sqrt(shift);
    const qr = new HouseholderQr(cols, m, d, stop);
    if (qr.diagonalRatio() <= GN_SINGULAR_RATIO) continue;
    const p = qr.solveLeastSquares(rhs);
    if (p.every(Number.isFinite)) return { p, shift };
  }
  return null;
}
