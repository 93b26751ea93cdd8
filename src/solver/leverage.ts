import type { Problem } from './types.js';
/**
 * sigma(x): the leverage scores of diag(A x - b)^-1 A. Throws SolverError SHAPE_MISMATCH for an x of the
 * wrong length, X0_ON_WALL when some slack is 0, RANK_DEFICIENT when A_x has no full column rank.
 */
export function leverageScores(problem: Pick<Problem, 'n' | 'd' | 'A' | 'b'>, x: Float64Array): Float64Array {
  throw new Error(`not implemented yet ${problem.n} ${x.length}`);
}
