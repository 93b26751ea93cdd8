/**
 * The cell whose analytic centre is the default start, in the form both phases of the search use: rows
 * scaled to unit norm and turned by their signs, so that every slack must be positive. Scaling changes the
 * barrier only by a constant, so the centre is the same, and it makes distances comparable across problems.
 */
import { SolverError } from './errors.js';
import type { Stopper } from './stop.js';
import type { Problem } from './types.js';
import { cellSigns } from './validate.js';

export interface Cell {
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

/** Sums of squares in this range neither overflowed nor lost digits to underflow. */
const SAFE_LOW = 1e-280;
const SAFE_HIGH = 1e280;

/** Assumes a validated problem; throws EMPTY_CELL for a zero row whose constant slack has the wrong sign. */
export function normalisedCell(
  problem: Problem,
  stop: Stopper,
  alloc: (length: number) => Float64Array = (length) => new Float64Array(length),
): Cell {
  const { n, d, A, b } = problem;
  const signs = cellSigns(problem);
  // in the kernels' memory: the row sums of both phases read it (shared when they run on threads)
  const rows = alloc(n * d);
  const offsets = new Float64Array(n);
  let maxOffset = 0;
  stop.tick(n * d);
  for (let i = 0; i < n; i++) {
    const ri = i * d;
    // A plain sum of squares (Math.hypot per entry cost more than all the rest at small n); rescaled only
    // when it left the range where it is exact to rounding.
    let ss = 0;
    for (let j = 0; j < d; j++) ss += A[ri + j] * A[ri + j];
    const norm = ss > SAFE_LOW && ss < SAFE_HIGH ? Math.sqrt(ss) : scaledNorm(A, ri, d);
    const sign = signs ? signs[i] : 1;
    if (norm === 0) {
      // The slack of a zero row is the constant -b_i: it never changes sign, and may already be wrong.
      // When right, the row adds only a constant to the barrier: it stays a zero row with slack 1 (left
      // at 0 it made every point infeasible, and such a cell was reported empty).
      if (sign * -b[i] > 0) {
        offsets[i] = -1;
        continue;
      }
      throw new SolverError(
        'EMPTY_CELL',
        `the cell is empty: row ${i} of A is zero, so its slack is always ${-b[i]}, never of sign ${sign}`,
        'A',
      );
    }
    const f = sign / norm;
    for (let j = 0; j < d; j++) rows[ri + j] = A[ri + j] * f;
    offsets[i] = b[i] * f;
    maxOffset = Math.max(maxOffset, Math.abs(offsets[i]));
  }
  return { n, d, rows, offsets, radius: 1e6 * (1 + maxOffset), stop };
}

/** ||a|| of d entries from `at`, scaled by the largest so that it neither overflows nor underflows. */
function scaledNorm(A: Float64Array, at: number, d: number): number {
  let scale = 0;
  for (let j = 0; j < d; j++) scale = Math.max(scale, Math.abs(A[at + j]));
  if (scale === 0) return 0;
  let ss = 0;
  for (let j = 0; j < d; j++) {
    const v = A[at + j] / scale;
    ss += v * v;
  }
  return scale * Math.sqrt(ss);
}

/** s(x) = rows x - offsets into `out`. */
export function cellSlacks(cell: Cell, x: Float64Array, out: Float64Array): Float64Array {
  return rowsTimes(cell, x, cell.offsets, out);
}

/** rows v (the first d entries of v) into `out`: how the slacks move along v. */
export function cellDirection(cell: Cell, v: Float64Array, out: Float64Array): Float64Array {
  return rowsTimes(cell, v, null, out);
}

/**
 * rows v - offsets, four partial sums per row: the phases call this about 20 times at 100000 x 20, and
 * it ran 1.3x to 2x faster than one running sum (independent additions pipeline).
 */
function rowsTimes(
  cell: Cell,
  v: Float64Array,
  offsets: Float64Array | null,
  out: Float64Array,
): Float64Array {
  const { n, d, rows } = cell;
  cell.stop.tick(n * d);
  const d4 = d - (d % 4);
  for (let i = 0, ri = 0; i < n; i++, ri += d) {
    let v0 = offsets ? -offsets[i] : 0;
    let v1 = 0;
    let v2 = 0;
    let v3 = 0;
    let j = 0;
    for (; j < d4; j += 4) {
      v0 += rows[ri + j] * v[j];
      v1 += rows[ri + j + 1] * v[j + 1];
      v2 += rows[ri + j + 2] * v[j + 2];
      v3 += rows[ri + j + 3] * v[j + 3];
    }
    for (; j < d; j++) v0 += rows[ri + j] * v[j];
    out[i] = v0 + v1 + (v2 + v3);
  }
  return out;
}

/** The smallest entry, without spreading the array into arguments (that overflows the stack at ~1e5). */
export function minimum(values: Float64Array): number {
  let m = Infinity;
  for (let i = 0; i < values.length; i++) if (values[i] < m) m = values[i];
  return m;
}

/** Every entry > 0 (a NaN is not). */
export function allPositive(values: Float64Array): boolean {
  for (let i = 0; i < values.length; i++) if (!(values[i] > 0)) return false;
  return true;
}

export function dot(a: Float64Array, b: Float64Array): number {
  let v = 0;
  for (let i = 0; i < a.length; i++) v += a[i] * b[i];
  return v;
}

export function breakdown(where: string): SolverError {
  return new SolverError('NUMERICAL_BREAKDOWN', `numerical breakdown while computing ${where}`);
}
