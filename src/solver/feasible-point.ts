/**
 * Phase I of the start point (docs/MATH.md, "Phase I: a strictly feasible point"): a strictly feasible
 * point of the cell. Barrier method on min t s.t. s_i(x) + t > 0 and ||x|| < radius (the ball keeps the
 * subproblems bounded even when the cell is unbounded or empty); it returns as soon as t < 0. Weak
 * duality decides emptiness: at a centred point, t* >= t - (n + 1) / kappa. The O(n d^2) Hessian sums run
 * on the kernels; every buffer is reused.
 */
import { SolverError } from './errors.js';
import type { Kernels } from './kernels.js';
import { solveShifted } from './shifted-cholesky.js';
import { allPositive, breakdown, type Cell, cellDirection, cellSlacks, dot, minimum } from './start-cell.js';

/**
 * The first barrier weight is this many times (n + 1) / t, where the duality gap (n + 1) / kappa equals
 * the violation t. At 1 the first centring pushed t up (the barrier outweighs kappa t) and its Newton
 * steps were wasted: 13 steps at n = 20000, d = 20 against 7 at 10 (and 4 to 5 against 8 to 10 at 200 x 8).
 */
const FIRST_KAPPA_FACTOR = 10;
/** lambda^2 below which a centring may stop when it cannot prove the cell empty */
const ROUGHLY_CENTRED = 0.5;

/** A strictly feasible x, with its slacks. */
export interface Feasible {
  x: Float64Array;
  s: Float64Array;
}

export function feasiblePoint(cell: Cell, kernels: Kernels): Feasible {
  const { n, d, rows, radius, stop } = cell;
  let x: Float64Array = new Float64Array(d);
  let s: Float64Array = cellSlacks(cell, x, new Float64Array(n));
  if (allPositive(s)) return { x, s };
  let t = 1 - minimum(s);
  const dim = d + 1;
  const r2 = radius * radius;
  // Buffers reused by every Newton step: the weights 1/c and 1/c^2 of c = s + t, the trial point.
  const c1 = kernels.alloc(n);
  const c2 = kernels.alloc(n);
  let trial: Float64Array = new Float64Array(d);
  let trialS: Float64Array = new Float64Array(n);
  const ap = new Float64Array(n);
  const H = new Float64Array(dim * dim);
  const rhs = new Float64Array(dim);
  /** The barrier at (xx, tt) from its slacks ss. */
  const phi = (ss: Float64Array, xx: Float64Array, tt: number, kappa: number): number => {
    let v = kappa * tt;
    for (let i = 0; i < n; i++) {
      const c = ss[i] + tt;
      if (!(c > 0)) return Infinity;
      v -= Math.log(c);
    }
    const room = r2 - dot(xx, xx);
    return room > 0 ? v - Math.log(room) : Infinity;
  };
  for (let kappa = (FIRST_KAPPA_FACTOR * (n + 1)) / t, outer = 0; outer < 60; outer++, kappa *= 10) {
    let centred = false;
    let f0 = phi(s, x, t, kappa);
    for (let inner = 0; inner < 100 && !centred; inner++) {
      let sum1 = 0;
      let sum2 = 0;
      for (let i = 0; i < n; i++) {
        const w = 1 / (s[i] + t);
        c1[i] = w;
        c2[i] = w * w;
        sum1 += w;
        sum2 += w * w;
      }
      // The x-block sum c2_i r_i r_i^T is the O(n d^2) part: a kernel; the border and gradient are sums.
      const Hxx = kernels.weightedGram(rows, n, d, c2, stop);
      stop.tick(2 * n * d);
      const border = kernels.combineRows(rows, n, d, c2);
      const pull = kernels.combineRows(rows, n, d, c1);
      const room = r2 - dot(x, x);
      for (let j = 0; j < d; j++) {
        rhs[j] = pull[j] - (2 * x[j]) / room;
        for (let k = j; k < d; k++) {
          const v = Hxx[j * d + k] + (4 * x[j] * x[k]) / (room * room) + (j === k ? 2 / room : 0);
          H[j * dim + k] = v;
          H[k * dim + j] = v;
        }
        H[j * dim + d] = border[j];
        H[d * dim + j] = border[j];
      }
      rhs[d] = sum1 - kappa;
      H[d * dim + d] = sum2;
      const step = solveShifted(H, dim, rhs, undefined, stop);
      if (!step) throw breakdown('phase I');
      const p = step.solution;
      // the slope g^T p = -lambda^2 (rhs is -g)
      const slope = -dot(rhs, p);
      // Below 1e-6 the point is centred far beyond what the duality bound needs, and phi (a sum of n
      // logs) cannot resolve a smaller decrease anyway.
      if (-slope < 1e-6) {
        centred = true;
        break;
      }
      // Only an emptiness verdict needs that centring: while the bound cannot exceed 0, roughly centred
      // is enough to raise kappa (it saved 2 of 10 steps at 100000 x 20).
      if (-slope < ROUGHLY_CENTRED && t - (n + 1) / kappa <= 0) break;
      // Backtracking from the full Newton step (phi is +Infinity outside, so this also keeps feasibility).
      // The slacks move along rows p: one O(n d) product, then O(n) per trial.
      cellDirection(cell, p, ap);
      let alpha = 1;
      let accepted = false;
      let f = f0;
      for (let h = 0; h < 60; h++, alpha /= 2) {
        for (let j = 0; j < d; j++) trial[j] = x[j] + alpha * p[j];
        for (let i = 0; i < n; i++) trialS[i] = s[i] + alpha * ap[i];
        f = phi(trialS, trial, t + alpha * p[d], kappa);
        if (f <= f0 + 1e-4 * alpha * slope) {
          accepted = true;
          break;
        }
      }
      if (!accepted) {
        centred = true; // no further progress possible in floating point
        break;
      }
      [x, trial] = [trial, x];
      [s, trialS] = [trialS, s];
      t += alpha * p[d];
      f0 = f;
      // Return only once t < 0: the x of a centred phase I point is the analytic centre of the relaxed
      // cell {s + t > 0}, so this one is near the centre, where phase II's QR steps converge at once.
      // (The first x with positive slacks comes earlier but can lie close to a wall: phase II then
      // needs many damped steps, each a QR, dearer than these steps.)
      // The slacks were updated, not recomputed: the point returned has exact positive ones.
      if (t < 0 && allPositive(cellSlacks(cell, x, s))) return { x, s };
    }
    const gap = (n + 1) / kappa;
    if (centred && t - gap > 0) {
      throw new SolverError(
        'EMPTY_CELL',
        'the cell is empty: no x has slacks of the requested signs (phase I bound ' +
          `${(t - gap).toExponential(2)} > 0 on the largest violation)`,
        'signs',
      );
    }
    if (gap < 1e-13 * (1 + radius / 1e6)) break;
  }
  throw new SolverError(
    'EMPTY_CELL',
    'the cell is empty or has no interior: no x has all slacks strictly of the requested signs',
    'signs',
  );
}
