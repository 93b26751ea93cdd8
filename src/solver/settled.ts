/**
 * A stopping rule that does not depend on the problem's scaling (docs/MATH.md, "Stopping rules").
 * ||grad L|| <= tolerance is an absolute test: with slacks near the walls (1/s_i up to 1e4) or
 * heavy-tailed rows, the gradient's summands are so large that its rounding floor (5e-8 to 5e-7 measured)
 * lies far above the default 1e-10, and Newton ran on to maxIterations at x* to 1e-16.
 *
 * Instead: the second-order step p (Newton or Gauss-Newton, taken without a shift, so H is positive
 * definite and p is the Newton decrement's direction) would move no slack by more than
 * STEP_ROUNDING_FACTOR times the rounding error of computing that slack,
 *
 *     |(A p)_i| <= STEP_ROUNDING_FACTOR * eps * (sum_j |A_ij x_j| + |b_i|)   for every row i.
 *
 * Then no step can change s(x), and so sigma(x), by more than rounding: x is a minimiser to working
 * precision. The test is invariant to scaling a row (a_i, b_i), a column of A (with x), and the loss.
 * Measured on 5 seeds each of those two problem kinds (slacks near the walls, Cauchy rows) and 3
 * generated problems: at the converged iterates the largest ratio |(A p)_i| / (eps (|A||x| + |b|)_i) is
 * 0.14 to 2.1; one iterate earlier (x* to 1e-15 .. 5e-15) 3.9 to 24; two earlier, 7e4 and more. 64
 * leaves a margin of 30 over that rounding floor and stops at most one Newton step (which would change x
 * by ~1e-15) early.
 * Approaching a wall the full step moves the nearest slack by about its own size, far above rounding, so
 * the rule never fires there.
 */

/** See above; the numpy reference (scripts/numpy_newton.py) uses the same number. */
export const STEP_ROUNDING_FACTOR = 64;

/**
 * True when `Ap` (= A p, length n) moves no slack by more than STEP_ROUNDING_FACTOR times its rounding
 * error at x. A is n x d row-major.
 */
export function stepBelowRounding(
  A: Float64Array,
  b: Float64Array,
  n: number,
  d: number,
  x: Float64Array,
  Ap: Float64Array,
): boolean {
  const limit = STEP_ROUNDING_FACTOR * Number.EPSILON;
  for (let i = 0; i < n; i++) {
    let scale = Math.abs(b[i]);
    const ri = i * d;
    for (let j = 0; j < d; j++) scale += Math.abs(A[ri + j] * x[j]);
    if (!(Math.abs(Ap[i]) <= limit * scale)) return false;
  }
  return true;
}
