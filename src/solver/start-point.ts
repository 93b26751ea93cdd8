/**
 * The default start point: the analytic centre of the cell {x : signs_i (a_i^T x - b_i) > 0}, i.e. the
 * minimiser of -sum_i log(signs_i s_i(x)) (docs/MATH.md, "The analytic-centre start"): a strictly
 * feasible point first (phase I, feasible-point.ts), then Newton to the centre (phase II, centring.ts),
 * both on the cell with unit rows (start-cell.ts).
 */
import { centre } from './centring.js';
import { feasiblePoint } from './feasible-point.js';
import { currentKernels, type Kernels } from './kernels.js';
import { normalisedCell } from './start-cell.js';
import { NO_STOP, type Stopper } from './stop.js';
import type { Problem } from './types.js';
import { validateProblem } from './validate.js';

/** Validates the problem, then finds the analytic centre of its cell. */
export function findStart(problem: Problem): Float64Array {
  validateProblem(problem);
  return analyticCentre(problem);
}

/**
 * Assumes a validated problem (shapes, finiteness, full column rank). The row sums run on `kernels`
 * (default: the ones in force, see kernels.ts); every kernel gives the same centre bit for bit. Its n x d
 * working arrays go to `release` once it is found (for the solver to reuse).
 */
export function analyticCentre(
  problem: Problem,
  stop: Stopper = NO_STOP,
  kernels: Kernels = currentKernels(),
  release?: (buffer: Float64Array) => void,
): Float64Array {
  const cell = normalisedCell(problem, stop, (length) => kernels.alloc(length));
  return centre(cell, feasiblePoint(cell, kernels), kernels, release);
}
