import type { Problem } from './types.js';
/**
 * The default start: the analytic centre of the cell {x : signs_i (a_i^T x - b_i) > 0}. Throws SolverError
 * EMPTY_CELL or UNBOUNDED_CELL.
 */
export function findStart(problem: Problem): Float64Array {
  throw new Error(`not implemented yet ${problem.n}`);
}
