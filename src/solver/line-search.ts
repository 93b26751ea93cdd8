/**
 * Step length along a direction p (docs/MATH.md, "The line search"): never cross a wall a_i^T x = b_i
 * (the cell, and so the sign of every slack, is fixed for the whole run), then Armijo backtracking.
 */
import type { LeverageModel, Point } from './leverage-model.js';

/** Armijo's sufficient-decrease constant. */
const ARMIJO_C = 1e-4;
/** How close to a wall a step may go: 99% of the way. */
const FRACTION_TO_BOUNDARY = 0.99;
/** 2^-60 of the first trial is far below any step that changes x in double precision. */
const MAX_HALVINGS = 60;

export interface Step {
  point: Point;
  alpha: number;
}

/** The largest alpha with sign(s + alpha A p) = sign(s), or Infinity when no wall is in the way. */
export function wallLimit(s: Float64Array, Ap: Float64Array): number {
  let limit = Infinity;
  for (let i = 0; i < s.length; i++) {
    if (s[i] * Ap[i] < 0) limit = Math.min(limit, -s[i] / Ap[i]);
  }
  return limit;
}

/**
 * Tries alpha = min(alpha0, 0.99 * wall limit), halving until the trial point keeps every slack's sign
 * and, when `armijo`, L(x + alpha p) <= L(x) + c alpha g^T p. Returns null when no such alpha exists.
 */
export function searchStep(
  model: LeverageModel,
  current: Point,
  g: Float64Array,
  p: Float64Array,
  alpha0: number,
  armijo: boolean,
): Step | null {
  const { n, d, stop } = model;
  const wall = wallLimit(current.s, model.apply(p));
  let alpha = wall <= alpha0 ? FRACTION_TO_BOUNDARY * wall : alpha0;
  let slope = 0;
  for (let j = 0; j < d; j++) slope += g[j] * p[j];
  if (armijo && !(slope < 0)) return null;
  for (let h = 0; h <= MAX_HALVINGS; h++, alpha /= 2) {
    // A rejected trial costs O(n d) without reaching the QR's own polls.
    stop.tick(n * d);
    const x = current.x.map((v, j) => v + alpha * p[j]);
    const s = model.slacks(x);
    if (!sameSigns(current.s, s)) continue;
    const point = model.at(x, s);
    if (!armijo) return { point, alpha };
    if (point.loss <= current.loss + ARMIJO_C * alpha * slope) return { point, alpha };
    model.recycle(point);
  }
  return null;
}

function sameSigns(a: Float64Array, b: Float64Array): boolean {
  for (let i = 0; i < a.length; i++) if (!(a[i] * b[i] > 0)) return false;
  return true;
}
