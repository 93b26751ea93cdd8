/**
 * Solves (H + lambda I) p = rhs with the smallest lambda from {0, t, 2t, 4t, ...}, t = 1e-8 max|H_ii|,
 * for which the Cholesky factorisation succeeds (MATH.md, Newton step 2) and the solution passes
 * `accept` (default: any finite solution). The Hessian is d x d, so
 * ml-matrix's decomposition is fast enough here.
 */
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { NO_STOP, type Stopper } from './stop.js';

export interface ShiftedSolve {
  solution: Float64Array;
  shift: number;
}

/** Shifts tried before giving up: 2^200 t covers any finite Hessian scale. */
const MAX_DOUBLINGS = 200;

/** Returns null only when no finite shift works (the matrix holds NaN or Infinity). */
export function solveShifted(
  H: Float64Array,
  d: number,
  rhs: Float64Array,
  accept: (solution: Float64Array) => boolean = () => true,
  stop: Stopper = NO_STOP,
): ShiftedSolve | null {
  let maxDiag = 0;
  for (let i = 0; i < d; i++) maxDiag = Math.max(maxDiag, Math.abs(H[i * d + i]));
  if (!Number.isFinite(maxDiag)) return null;
  const base = 1e-8 * (maxDiag > 0 ? maxDiag : 1);
  const rhsColumn = Matrix.columnVector(Array.from(rhs));
  let shift = 0;
  for (let attempt = 0; attempt <= MAX_DOUBLINGS; attempt++) {
    // One factorisation is d^3 / 3 multiply-adds inside ml-matrix, which cannot poll.
    stop.tick((d * d * d) / 3);
    const m = new Matrix(d, d);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) m.set(i, j, H[i * d + j] + (i === j ? shift : 0));
    }
    const chol = new CholeskyDecomposition(m);
    if (chol.isPositiveDefinite()) {
      const solution = Float64Array.from(chol.solve(rhsColumn).getColumn(0));
      if (solution.every(Number.isFinite) && accept(solution)) return { solution, shift };
    }
    shift = shift === 0 ? base : 2 * shift;
  }
  return null;
}
