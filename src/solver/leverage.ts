/** sigma(x) on its own, for callers that only want the scores (the CLI's `leverage`, the generator). */
import { SolverError } from './errors.js';
import { HouseholderQr, toColumnMajor } from './householder-qr.js';
import { rowSquares } from './leverage-model.js';
import type { Problem } from './types.js';
import { RANK_TOLERANCE } from './validate.js';

/**
 * The leverage scores of diag(A x - b)^-1 A. Throws SolverError SHAPE_MISMATCH for wrong lengths,
 * NON_FINITE, X0_ON_WALL when some slack is 0, RANK_DEFICIENT when A has no full column rank.
 */
export function leverageScores(problem: Pick<Problem, 'n' | 'd' | 'A' | 'b'>, x: Float64Array): Float64Array {
  const { n, d, A, b } = problem;
  if (n < d) throw new SolverError('TOO_FEW_ROWS', `A is ${n} x ${d}: it needs n >= d`, 'A');
  if (A.length !== n * d)
    throw new SolverError('SHAPE_MISMATCH', `A has ${A.length} entries, not ${n} x ${d}`, 'A');
  if (b.length !== n)
    throw new SolverError('SHAPE_MISMATCH', `b has ${b.length} entries, expected ${n}`, 'b');
  if (x.length !== d)
    throw new SolverError('SHAPE_MISMATCH', `x has ${x.length} entries, expected ${d}`, 'x');
  const inv = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = -b[i];
    for (let j = 0; j < d; j++) s += A[i * d + j] * x[j];
    if (!Number.isFinite(s)) throw new SolverError('NON_FINITE', `the slack of row ${i} is ${s}`, 'x');
    if (s === 0) {
      throw new SolverError(
        'X0_ON_WALL',
        `x lies on a wall: the slack of row ${i} is 0, where scores are undefined`,
        'x',
      );
    }
    inv[i] = 1 / s;
  }
  const qr = new HouseholderQr(toColumnMajor(A, n, d, inv), n, d);
  if (!(qr.diagonalRatio() > RANK_TOLERANCE)) {
    throw new SolverError(
      'RANK_DEFICIENT',
      `A (${n} x ${d}) is rank-deficient: its columns are linearly dependent`,
      'A',
    );
  }
  return rowSquares(qr.thinQRowMajor(), n, d);
}
