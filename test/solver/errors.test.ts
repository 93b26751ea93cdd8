/** Every way a problem can be rejected: a typed SolverError with a stable code, the field, and a clear message. */
import { describe, expect, it } from 'vitest';
import { findStart, leverageScores, type Problem, SolverError, solve } from '../../src/solver/index.js';
import { randomProblem } from '../helpers/random-problem.js';

/** The SolverError thrown by fn (fails the test if fn does not throw one). */
function caught(fn: () => unknown): SolverError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SolverError) return error;
    throw error;
  }
  throw new Error('expected a SolverError, but nothing was thrown');
}

const base = (): Problem => randomProblem({ n: 12, d: 3, seed: 5 }).problem;
const withChanges = (changes: Partial<Problem>): Problem => ({ ...base(), ...changes });

/** x > 0, y > 0, x + y < 2 (as -x - y > -2): a bounded triangle in 2-D. */
const triangle = (): Problem => ({
  n: 3,
  d: 2,
  A: Float64Array.from([1, 0, 0, 1, -1, -1]),
  b: Float64Array.from([0, 0, -2]),
  sigma: Float64Array.from([2 / 3, 2 / 3, 2 / 3]),
});

describe('invalid input', () => {
  it.each([
    [
      'b',
      { b: new Float64Array(11) },
      /^b has 11 entries, expected 12 entries, one per row \(A is 12 x 3\)$/,
    ],
    ['sigma', { sigma: new Float64Array(13) }, /^sigma has 13 entries, expected 12 entries, one per row/],
    ['A', { A: new Float64Array(35) }, /^A has 35 entries, expected 36 entries \(A is 12 x 3\)$/],
    [
      'x0',
      { x0: new Float64Array(2) },
      /^x0 has 2 entries, expected 3 entries, one per column \(A is 12 x 3\)$/,
    ],
    ['signs', { signs: new Int8Array(5).fill(1) }, /^signs has 5 entries, expected 12 entries, one per row/],
    [
      'regularization',
      { regularization: new Float64Array(4) },
      /^regularization has 4 entries, expected 12 weights/,
    ],
  ] as const)('shape mismatch in %s names the field and both shapes', (field, changes, message) => {
    const error = caught(() => solve(withChanges(changes)));
    expect(error.code).toBe('SHAPE_MISMATCH');
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
  });

  it('n < d', () => {
    const error = caught(() =>
      solve({
        ...triangle(),
        n: 1,
        A: Float64Array.from([1, 1]),
        b: Float64Array.from([0]),
        sigma: Float64Array.from([1]),
      }),
    );
    expect(error.code).toBe('TOO_FEW_ROWS');
    expect(error.message).toBe('A is 1 x 2: it needs at least as many rows as columns (n >= d)');
  });

  it('non-finite numbers name the entry', () => {
    const A = base().A.slice();
    A[1 * 3 + 2] = Number.NaN;
    const e1 = caught(() => solve(withChanges({ A })));
    expect([e1.code, e1.field, e1.message]).toEqual([
      'NON_FINITE',
      'A[1][2]',
      'A[1][2] is NaN: every number must be finite',
    ]);
    const b = base().b.slice();
    b[4] = Number.POSITIVE_INFINITY;
    const e2 = caught(() => solve(withChanges({ b })));
    expect([e2.code, e2.message]).toEqual(['NON_FINITE', 'b[4] is Infinity: every number must be finite']);
  });

  it('target scores outside [0, 1]', () => {
    const sigma = base().sigma.slice();
    sigma[7] = 1.25;
    const error = caught(() => solve(withChanges({ sigma })));
    expect(error.code).toBe('SIGMA_OUT_OF_RANGE');
    expect(error.field).toBe('sigma[7]');
    expect(error.message).toBe('sigma[7] = 1.25 is outside [0, 1]: leverage scores always lie in [0, 1]');
  });

  it('signs other than +1 / -1', () => {
    const signs = new Int8Array(12).fill(1);
    signs[3] = 0;
    const error = caught(() => solve(withChanges({ signs })));
    expect([error.code, error.message]).toEqual(['INVALID_SIGNS', 'signs[3] = 0: each sign must be 1 or -1']);
  });

  it('negative regularization weight', () => {
    const error = caught(() => solve(withChanges({ regularization: -0.5 })));
    expect([error.code, error.message]).toEqual([
      'INVALID_OPTION',
      'regularization must be a finite number >= 0, got -0.5',
    ]);
  });

  it('rank-deficient A', () => {
    const A = base().A.slice();
    for (let i = 0; i < 12; i++) A[i * 3 + 2] = A[i * 3] - 2 * A[i * 3 + 1];
    const error = caught(() => solve(withChanges({ A })));
    expect(error.code).toBe('RANK_DEFICIENT');
    expect(error.message).toMatch(/^A \(12 x 3\) is rank-deficient: its columns are linearly dependent/);
  });

  it.each([
    [{ method: 'bfgs' as never }, 'method', 'method must be one of newton, gauss-newton, gd, got bfgs'],
    [{ lineSearch: 'wolfe' as never }, 'lineSearch', 'lineSearch must be one of armijo, none, got wolfe'],
    [{ maxIterations: 2.5 }, 'maxIterations', 'maxIterations must be an integer >= 0, got 2.5'],
    [{ tolerance: Number.NaN }, 'tolerance', 'tolerance must be a finite number >= 0, got NaN'],
    [{ maxSeconds: 0 }, 'maxSeconds', 'maxSeconds must be > 0, got 0'],
    [{ stepSize: -1 }, 'stepSize', 'stepSize must be a finite number > 0, got -1'],
    [
      { record: { every: 0, includeX: true, limit: 10 } },
      'record.every',
      'record.every must be an integer >= 1, got 0',
    ],
    [
      { record: { every: 1, includeX: true, limit: 0 } },
      'record.limit',
      'record.limit must be an integer >= 1, got 0',
    ],
  ])('invalid option %o', (options, field, message) => {
    const error = caught(() => solve(base(), options));
    expect([error.code, error.field, error.message]).toEqual(['INVALID_OPTION', field, message]);
  });
});

describe('start point', () => {
  it('x0 on a wall', () => {
    const error = caught(() => solve({ ...triangle(), x0: Float64Array.from([0, 1]) }));
    expect(error.code).toBe('X0_ON_WALL');
    expect(error.message).toBe(
      'x0 lies on a wall: the slack of row 0 (a_0^T x0 - b_0) is 0, where the scores are undefined',
    );
  });

  it('x0 outside the cell that signs names', () => {
    const signs = Int8Array.from([1, 1, 1]);
    const error = caught(() => solve({ ...triangle(), signs, x0: Float64Array.from([0.5, 3]) }));
    expect(error.code).toBe('X0_OUTSIDE_CELL');
    expect(error.message).toBe(
      'x0 is outside the requested cell: the slack of row 2 is -1.50000, but signs[2] is 1',
    );
  });

  it('an empty cell', () => {
    // x > 1 and x < 0 (as -x > 0), with y free between two walls: no point has all three signs.
    const problem: Problem = {
      n: 4,
      d: 2,
      A: Float64Array.from([1, 0, -1, 0, 0, 1, 0, -1]),
      b: Float64Array.from([1, 0, 0, -1]),
      sigma: Float64Array.from([0.5, 0.5, 0.5, 0.5]),
    };
    const error = caught(() => findStart(problem));
    expect(error.code).toBe('EMPTY_CELL');
    expect(error.message).toMatch(/^the cell is empty: no x has slacks of the requested signs/);
    expect(caught(() => solve(problem, { start: 'centre' })).code).toBe('EMPTY_CELL');
  });

  it('an unbounded cell has no centre', () => {
    // x > 0, y > 0, x + y > 1: open towards +infinity.
    const problem: Problem = {
      n: 3,
      d: 2,
      A: Float64Array.from([1, 0, 0, 1, 1, 1]),
      b: Float64Array.from([0, 0, 1]),
      sigma: Float64Array.from([2 / 3, 2 / 3, 2 / 3]),
    };
    const error = caught(() => solve(problem, { start: 'centre' }));
    expect(error.code).toBe('UNBOUNDED_CELL');
    expect(error.message).toBe(
      'the cell is unbounded, so it has no analytic centre: give x0, or choose signs that close the cell',
    );
    // With a start point the same problem is solvable: the cell itself is fine.
    expect(solve({ ...problem, x0: Float64Array.from([1, 1]) }).x.every(Number.isFinite)).toBe(true);
  });

  it('the other sign pattern of the same rows is a different, valid cell', () => {
    const problem = triangle();
    const start = findStart({ ...problem, signs: Int8Array.from([1, 1, 1]) });
    expect(Array.from(start).map((v) => +v.toFixed(12))).toEqual([2 / 3, 2 / 3].map((v) => +v.toFixed(12)));
    const flipped = caught(() => findStart({ ...problem, signs: Int8Array.from([-1, -1, 1]) }));
    expect(flipped.code).toBe('UNBOUNDED_CELL');
  });
});

describe('numerical breakdown', () => {
  it('a loss that overflows is an error, never a NaN result', () => {
    // Rows of size 1e160: the scores are fine (they are scale-free) but ||W A x||^2 overflows to Infinity.
    const { problem } = randomProblem({ n: 12, d: 3, seed: 5 });
    const huge: Problem = {
      ...problem,
      A: problem.A.map((v) => v * 1e160),
      b: problem.b.map((v) => v * 1e160),
      regularization: 1,
    };
    const error = caught(() => solve(huge));
    expect(error.code).toBe('NUMERICAL_BREAKDOWN');
    expect(error.message).toBe('numerical breakdown at iteration 0: the loss is Infinity');
  });
});

describe('leverageScores', () => {
  it('rejects an x on a wall and a wrong length', () => {
    const problem = triangle();
    expect(caught(() => leverageScores(problem, Float64Array.from([0, 1]))).message).toBe(
      'x lies on a wall: the slack of row 0 is 0, where scores are undefined',
    );
    expect(caught(() => leverageScores(problem, Float64Array.from([1]))).message).toBe(
      'x has 1 entries, expected 2',
    );
  });

  it('computes the scores of the triangle at its centre (all equal to d / n by symmetry)', () => {
    const lev = leverageScores(triangle(), Float64Array.from([2 / 3, 2 / 3]));
    for (const v of lev) expect(v).toBeCloseTo(2 / 3, 14);
  });
});
