/**
 * The default start point: the analytic centre of the cell {x : signs_i (a_i^T x - b_i) > 0}, i.e. the
 * minimiser of -sum_i log(signs_i s_i(x)) (MATH.md, "Start point").
 *
 * Rows are scaled to unit norm first; that changes the barrier only by a constant, so the centre is the
 * same, and it makes the distances below comparable across problems.
 */
import { SolverError } from './errors.js';
import { HouseholderQr, toColumnMajor } from './householder-qr.js';
import { solveShifted } from './shifted-cholesky.js';
import { NO_STOP, type Stopper } from './stop.js';
import type { Problem } from './types.js';
import { cellSigns, validateProblem } from './validate.js';

/** Validates the problem, then finds the analytic centre of its cell. */
export function findStart(problem: Problem): Float64Array {
  validateProblem(problem);
  return analyticCentre(problem);
}

interface Cell {
  n: number;
  d: number;
  /** unit rows signs_i a_i / ||a_i||, row-major */
  rows: Float64Array;
  offsets: Float64Array;
  /** radius beyond which a point counts as "at infinity" */
  radius: number;
  /** polled in every loop over the rows (throws StopRequested) */
  stop: Stopper;
}

/** Assumes a validated problem (shapes, finiteness, full column rank). */
export function analyticCentre(problem: Problem, stop: Stopper = NO_STOP): Float64Array {
  const cell = normalisedCell(problem, stop);
  const x = feasiblePoint(cell);
  return centre(cell, x);
}

function normalisedCell(problem: Problem, stop: Stopper): Cell {
  const { n, d, A, b } = problem;
  const signs = cellSigns(problem);
  const rows = new Float64Array(n * d);
  const offsets = new Float64Array(n);
  let maxOffset = 0;
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let j = 0; j < d; j++) norm = Math.hypot(norm, A[i * d + j]);
    const sign = signs ? signs[i] : 1;
    if (norm === 0) {
      // The slack of a zero row is the constant -b_i: it never changes sign, and may already be wrong.
      if (sign * -b[i] > 0) continue;
      throw new SolverError(
        'EMPTY_CELL',
        `the cell is empty: row ${i} of A is zero, so its slack is always ${-b[i]}, never of sign ${sign}`,
        'A',
      );
    }
    const f = sign / norm;
    for (let j = 0; j < d; j++) rows[i * d + j] = A[i * d + j] * f;
    offsets[i] = b[i] * f;
    maxOffset = Math.max(maxOffset, Math.abs(offsets[i]));
  }
  return { n, d, rows, offsets, radius: 1e6 * (1 + maxOffset), stop };
}

function cellSlacks(cell: Cell, x: Float64Array): Float64Array {
  const { n, d, rows, offsets } = cell;
  cell.stop.tick(n * d);
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v = -offsets[i];
    for (let j = 0; j < d; j++) v += rows[i * d + j] * x[j];
    s[i] = v;
  }
  return s;
}

const positive = (s: Float64Array): boolean => s.every((v) => v > 0);

/**
 * Phase I: a strictly feasible point. Barrier method on min t s.t. s_i(x) + t > 0 and ||x|| < radius
 * (the ball keeps the subproblems bounded even when the cell is unbounded or empty); it returns as soon
 * as t < 0. Weak duality decides emptiness: at a centred point, t* >= t - (n + 1) / kappa.
 */
function feasiblePoint(cell: Cell): Float64Array {
  const { n, d, rows, radius } = cell;
  const x = new Float64Array(d);
  let s = cellSlacks(cell, x);
  if (positive(s)) return x;
  let t = 1 - minimum(s);
  const dim = d + 1;
  const r2 = radius * radius;
  const phi = (xx: Float64Array, tt: number, kappa: number): number => {
    const ss = cellSlacks(cell, xx);
    let v = kappa * tt;
    for (let i = 0; i < n; i++) {
      const c = ss[i] + tt;
      if (!(c > 0)) return Infinity;
      v -= Math.log(c);
    }
    const room = r2 - dot(xx, xx);
    return room > 0 ? v - Math.log(room) : Infinity;
  };
  // Start where the duality gap (n + 1) / kappa is about the current violation t.
  for (let kappa = (n + 1) / t, outer = 0; outer < 60; outer++, kappa *= 10) {
    let centred = false;
    for (let inner = 0; inner < 100 && !centred; inner++) {
      s = cellSlacks(cell, x);
      const g = new Float64Array(dim);
      const H = new Float64Array(dim * dim);
      g[d] = kappa;
      for (let i = 0; i < n; i++) {
        // O(d^2) per row; polled in batches of rows so that the check costs nothing at d = 2 either.
        if ((i & 1023) === 0) cell.stop.tick(1024 * d * d);
        const c1 = 1 / (s[i] + t);
        const c2 = c1 * c1;
        const ri = i * d;
        for (let j = 0; j < d; j++) {
          g[j] -= rows[ri + j] * c1;
          const f = rows[ri + j] * c2;
          for (let k = j; k < d; k++) H[j * dim + k] += f * rows[ri + k];
          H[j * dim + d] += f;
        }
        g[d] -= c1;
        H[d * dim + d] += c2;
      }
      const room = r2 - dot(x, x);
      for (let j = 0; j < d; j++) {
        g[j] += (2 * x[j]) / room;
        for (let k = j; k < d; k++) {
          H[j * dim + k] += (4 * x[j] * x[k]) / (room * room) + (j === k ? 2 / room : 0);
        }
      }
      for (let j = 0; j < dim; j++) for (let k = 0; k < j; k++) H[j * dim + k] = H[k * dim + j];
      const step = solveShifted(
        H,
        dim,
        g.map((v) => -v),
        undefined,
        cell.stop,
      );
      if (!step) throw breakdown('phase I');
      const p = step.solution;
      const slope = dot(g, p);
      // lambda^2 = -g^T p; below 1e-6 the point is centred far beyond what the duality bound needs,
      // and phi (a sum of n logs) cannot resolve a smaller decrease anyway.
      if (-slope < 1e-6) {
        centred = true;
        break;
      }
      // Backtracking from the full Newton step (phi is +Infinity outside, so this also keeps feasibility).
      const f0 = phi(x, t, kappa);
      const trial = new Float64Array(d);
      let alpha = 1;
      let accepted = false;
      for (let h = 0; h < 60; h++, alpha /= 2) {
        for (let j = 0; j < d; j++) trial[j] = x[j] + alpha * p[j];
        if (phi(trial, t + alpha * p[d], kappa) <= f0 + 1e-4 * alpha * slope) {
          accepted = true;
          break;
        }
      }
      if (!accepted) {
        centred = true; // no further progress possible in floating point
        break;
      }
      x.set(trial);
      t += alpha * p[d];
      if (t < 0 && positive(cellSlacks(cell, x))) return x;
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

/**
 * Phase II: damped Newton on -sum log s_i. The Newton step solves the least-squares problem
 * min || diag(1/s) A p - 1 || by QR (no normal equations), and lambda^2 = 1^T diag(1/s) A p.
 * A bounded cell has lambda < 1 somewhere and converges quadratically; on an unbounded cell lambda >= 1
 * everywhere and the iterates run off geometrically, which the radius check catches.
 */
function centre(cell: Cell, start: Float64Array): Float64Array {
  const { n, d, rows, radius, stop } = cell;
  const x = Float64Array.from(start);
  let previous = Infinity;
  for (let iteration = 0; iteration < 500; iteration++) {
    const s = cellSlacks(cell, x);
    const inv = s.map((v) => 1 / v);
    const qr = new HouseholderQr(toColumnMajor(rows, n, d, inv), n, d, stop);
    const p = qr.solveLeastSquares(new Float64Array(n).fill(1));
    let lambda2 = 0;
    for (let i = 0; i < n; i++) {
      let v = 0;
      for (let j = 0; j < d; j++) v += rows[i * d + j] * p[j];
      lambda2 += v * inv[i];
    }
    if (!Number.isFinite(lambda2)) throw breakdown('the analytic centre');
    const lambda = Math.sqrt(Math.max(lambda2, 0));
    if (lambda < 1e-13 || (lambda < 1e-7 && lambda >= previous)) return x;
    previous = lambda;
    let alpha = lambda > 0.25 ? 1 / (1 + lambda) : 1;
    // Rounding can put a full step a hair outside the cell; back off until it is inside.
    for (let h = 0; h < 60; h++, alpha /= 2) {
      const trial = x.map((v, j) => v + alpha * p[j]);
      if (positive(cellSlacks(cell, trial))) {
        x.set(trial);
        break;
      }
    }
    if (Math.sqrt(dot(x, x)) > radius) break;
  }
  throw new SolverError(
    'UNBOUNDED_CELL',
    'the cell is unbounded, so it has no analytic centre: give x0, or choose signs that close the cell',
    'signs',
  );
}

/** The smallest entry, without spreading the array into arguments (that overflows the stack at ~1e5). */
function minimum(values: Float64Array): number {
  let m = Infinity;
  for (let i = 0; i < values.length; i++) if (values[i] < m) m = values[i];
  return m;
}

function dot(a: Float64Array, b: Float64Array): number {
  let v = 0;
  for (let i = 0; i < a.length; i++) v += a[i] * b[i];
  return v;
}

function breakdown(where: string): SolverError {
  return new SolverError('NUMERICAL_BREAKDOWN', `numerical breakdown while computing ${where}`);
}
