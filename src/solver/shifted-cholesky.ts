/**
 * Solves (H + lambda I) p = rhs with the smallest lambda from {0, t, 2t, 4t, ...}, t = 1e-8 max|H_ii|,
 * for which the Cholesky factorisation succeeds (docs/MATH.md, "Newton") and the solution passes
 * `accept` (default: any finite solution).
 *
 * The Hessian is d x d; the factorisation runs on one reused Float64Array in exactly ml-matrix's
 * CholeskyDecomposition order (so the numbers are those ml-matrix gave, bit for bit), without its
 * Matrix objects, whose allocation and get/set cost more than the arithmetic at small n.
 */
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
  assertSymmetric(H, d);
  const base = 1e-8 * (maxDiag > 0 ? maxDiag : 1);
  const L = new Float64Array(d * d);
  let shift = 0;
  for (let attempt = 0; attempt <= MAX_DOUBLINGS; attempt++) {
    stop.tick((d * d * d) / 3);
    if (choleskyShifted(H, d, shift, L)) {
      const solution = Float64Array.from(rhs);
      choleskySolve(L, d, solution);
      if (solution.every(Number.isFinite) && accept(solution)) return { solution, shift };
    }
    shift = shift === 0 ? base : 2 * shift;
  }
  return null;
}

/**
 * The lower Cholesky factor of H + shift I into L (row-major, d x d); false when the matrix is not
 * positive definite (a pivot <= 0 or NaN). Reads the lower triangle of H only.
 */
export function choleskyShifted(H: Float64Array, d: number, shift: number, L: Float64Array): boolean {
  let positiveDefinite = true;
  for (let j = 0; j < d; j++) {
    const lj = j * d;
    let sum = 0;
    for (let k = 0; k < j; k++) {
      const lk = k * d;
      let s = 0;
      for (let i = 0; i < k; i++) s += L[lk + i] * L[lj + i];
      s = (H[lj + k] - s) / L[lk + k];
      L[lj + k] = s;
      sum = sum + s * s;
    }
    const pivot = H[lj + j] + shift - sum;
    positiveDefinite &&= pivot > 0;
    L[lj + j] = Math.sqrt(Math.max(pivot, 0));
    for (let k = j + 1; k < d; k++) L[lj + k] = 0;
  }
  return positiveDefinite;
}

/** Solves L L^T y = b in place (b becomes y), L from choleskyShifted. */
export function choleskySolve(L: Float64Array, d: number, b: Float64Array): void {
  for (let k = 0; k < d; k++) {
    let v = b[k];
    for (let i = 0; i < k; i++) v -= b[i] * L[k * d + i];
    b[k] = v / L[k * d + k];
  }
  for (let k = d - 1; k >= 0; k--) {
    let v = b[k];
    for (let i = k + 1; i < d; i++) v -= b[i] * L[i * d + k];
    b[k] = v / L[k * d + k];
  }
}

/** ml-matrix refused a matrix that is not exactly symmetric; so does this (a caller's bug, not data). */
function assertSymmetric(H: Float64Array, d: number): void {
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < i; j++) {
      if (H[i * d + j] !== H[j * d + i]) throw new Error('Matrix is not symmetric');
    }
  }
}
