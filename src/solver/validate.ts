/**
 * Checks a problem before any numerics run, so that bad input fails with a typed, named error instead of
 * a NaN or a hang later.
 */
import { SolverError } from './errors.js';
import { HouseholderQr, toColumnMajor } from './householder-qr.js';
import { NO_STOP, type Stopper } from './stop.js';
import type { Checkpoint, Problem } from './types.js';

/** Below this min/max ratio of |R_kk| the columns of A are treated as linearly dependent. */
export const RANK_TOLERANCE = 1e-10;

/** Throws SolverError for anything the solver cannot take; `stop` is polled in the rank check. */
export function validateProblem(problem: Problem, stop: Stopper = NO_STOP): void {
  const { n, d, A, b, sigma, signs, x0, regularization } = problem;
  if (!Number.isInteger(n) || !Number.isInteger(d) || n < 1 || d < 1) {
    throw new SolverError('SHAPE_MISMATCH', `A must be at least 1 x 1, got ${n} x ${d}`, 'A');
  }
  if (n < d) {
    throw new SolverError(
      'TOO_FEW_ROWS',
      `A is ${n} x ${d}: it needs at least as many rows as columns (n >= d)`,
      'A',
    );
  }
  const shape = `A is ${n} x ${d}`;
  expectLength('A', A.length, n * d, `${n * d} entries (${shape})`);
  expectLength('b', b.length, n, `${n} entries, one per row (${shape})`);
  expectLength('sigma', sigma.length, n, `${n} entries, one per row (${shape})`);
  if (signs) expectLength('signs', signs.length, n, `${n} entries, one per row (${shape})`);
  if (x0) expectLength('x0', x0.length, d, `${d} entries, one per column (${shape})`);
  if (regularization instanceof Float64Array) {
    expectLength('regularization', regularization.length, n, `${n} weights, one per row (${shape})`);
  }

  expectFinite('A', A, d);
  expectFinite('b', b);
  expectFinite('sigma', sigma);
  if (x0) expectFinite('x0', x0);
  // Plain loops, not forEach: at 200 x 8 the callbacks cost as much as the rank check's QR.
  const weights = typeof regularization === 'number' ? [regularization] : (regularization ?? []);
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i];
    if (!(Number.isFinite(w) && w >= 0)) {
      const at = typeof regularization === 'number' ? 'regularization' : `regularization[${i}]`;
      throw new SolverError('INVALID_OPTION', `${at} must be a finite number >= 0, got ${w}`, at);
    }
  }
  for (let i = 0; i < n; i++) {
    const v = sigma[i];
    if (v < 0 || v > 1) {
      throw new SolverError(
        'SIGMA_OUT_OF_RANGE',
        `sigma[${i}] = ${v} is outside [0, 1]: leverage scores always lie in [0, 1]`,
        `sigma[${i}]`,
      );
    }
  }
  if (signs) {
    for (let i = 0; i < n; i++) {
      const v = signs[i];
      if (v !== 1 && v !== -1) {
        throw new SolverError(
          'INVALID_SIGNS',
          `signs[${i}] = ${v}: each sign must be 1 or -1`,
          `signs[${i}]`,
        );
      }
    }
  }

  const ratio = new HouseholderQr(toColumnMajor(A, n, d), n, d, stop).diagonalRatio();
  if (!(ratio > RANK_TOLERANCE)) {
    throw new SolverError(
      'RANK_DEFICIENT',
      `A (${n} x ${d}) is rank-deficient: its columns are linearly dependent ` +
        `(min/max |R_kk| = ${ratio.toExponential(2)}), so the leverage scores do not determine x`,
      'A',
    );
  }
  if (x0) validateStart(problem, x0);
}

/**
 * x0 must lie strictly inside a cell: no slack 0. With signs, it must be their cell (each slack of the
 * requested sign); without, the cell is the one x0 lies in, whatever its signs.
 */
function validateStart(problem: Problem, x0: Float64Array): void {
  const { n, d, A, b, signs } = problem;
  for (let i = 0; i < n; i++) {
    let s = -b[i];
    for (let j = 0; j < d; j++) s += A[i * d + j] * x0[j];
    if (s === 0) {
      throw new SolverError(
        'X0_ON_WALL',
        `x0 lies on a wall: the slack of row ${i} (a_${i}^T x0 - b_${i}) is 0, where the scores are undefined`,
        'x0',
      );
    }
    if (!signs) continue;
    const want = signs[i];
    if (Math.sign(s) !== want) {
      throw new SolverError(
        'X0_OUTSIDE_CELL',
        `x0 is outside the requested cell: the slack of row ${i} is ${s.toPrecision(6)}, ` +
          `but signs[${i}] is ${want}`,
        'x0',
      );
    }
  }
}

/**
 * A resume checkpoint must continue a run of this problem: counters that make sense, x and start of
 * length d and finite, and x strictly inside the run's cell (the signs; without them the cell of x0; without
 * either all +1). Call after validateProblem. Every error names the field `resume`.
 */
export function validateCheckpoint(problem: Problem, checkpoint: Checkpoint): void {
  const { n, d, A, b } = problem;
  const bad = (message: string): SolverError =>
    new SolverError('INVALID_OPTION', `resume: ${message}`, 'resume');
  if (typeof checkpoint !== 'object' || checkpoint === null) throw bad('expected a checkpoint object');
  const { iteration, x, start, trialStep, previousLoss, startMs, elapsedMs } = checkpoint;
  if (!(Number.isSafeInteger(iteration) && iteration >= 0)) {
    throw bad(`iteration must be an integer >= 0, got ${String(iteration)}`);
  }
  for (const [name, v] of [
    ['x', x],
    ['start', start],
  ] as const) {
    if (!Array.isArray(v) || v.length !== d) {
      throw bad(`${name} must be an array of ${d} numbers (one per column of A), got ${describe(v)}`);
    }
    const at = v.findIndex((e) => typeof e !== 'number' || !Number.isFinite(e));
    if (at >= 0) throw bad(`${name}[${at}] is ${String(v[at])}: every number must be finite`);
  }
  if (!(typeof trialStep === 'number' && Number.isFinite(trialStep) && trialStep > 0)) {
    throw bad(`trialStep must be a finite number > 0, got ${String(trialStep)}`);
  }
  if (previousLoss !== null && !(typeof previousLoss === 'number' && Number.isFinite(previousLoss))) {
    throw bad(`previousLoss must be a finite number or null, got ${String(previousLoss)}`);
  }
  for (const [name, v] of [
    ['startMs', startMs],
    ['elapsedMs', elapsedMs],
  ] as const) {
    if (!(typeof v === 'number' && Number.isFinite(v) && v >= 0)) {
      throw bad(`${name} must be a finite number >= 0, got ${String(v)}`);
    }
  }
  // Without signs or x0 the run's cell is the one its start was found in (the global start's, or the
  // all-positive one whose centre it is): the start lies strictly inside it.
  const cell = cellSigns(problem) ?? signsAt(problem, start);
  for (let i = 0; i < n; i++) {
    let s = -b[i];
    for (let j = 0; j < d; j++) s += A[i * d + j] * x[j];
    const want = cell ? cell[i] : 1;
    if (Math.sign(s) !== want) {
      throw new SolverError(
        'X0_OUTSIDE_CELL',
        `resume: x is not strictly inside the run's cell: the slack of row ${i} is ${s.toPrecision(6)}, ` +
          `but the cell's sign there is ${want}`,
        'resume',
      );
    }
  }
}

/**
 * The signs of the run's cell: `signs` when given, else those of x0's slacks (x0 names its cell), else
 * undefined (all +1). Assumes a validated problem, so x0 is on no wall.
 */
export function cellSigns(problem: Problem): Int8Array | undefined {
  const { signs, x0 } = problem;
  if (signs || !x0) return signs;
  return signsAt(problem, x0);
}

/** The signs of the slacks a_i^T x - b_i at x (+1 where a slack is 0). */
export function signsAt(problem: Pick<Problem, 'n' | 'd' | 'A' | 'b'>, x: ArrayLike<number>): Int8Array {
  const { n, d, A, b } = problem;
  const out = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    let s = -b[i];
    for (let j = 0; j < d; j++) s += A[i * d + j] * x[j];
    out[i] = s >= 0 ? 1 : -1;
  }
  return out;
}

function describe(v: unknown): string {
  return Array.isArray(v) ? `${v.length} entries` : String(v);
}

function expectLength(field: string, actual: number, expected: number, what: string): void {
  if (actual !== expected) {
    throw new SolverError('SHAPE_MISMATCH', `${field} has ${actual} entries, expected ${what}`, field);
  }
}

function expectFinite(field: string, values: Float64Array, columns = 0): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      const at = columns ? `${field}[${Math.floor(i / columns)}][${i % columns}]` : `${field}[${i}]`;
      throw new SolverError('NON_FINITE', `${at} is ${values[i]}: every number must be finite`, at);
    }
  }
}
