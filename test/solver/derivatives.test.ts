import { describe, expect, it } from 'vitest';
import { choosePath, LeverageModel } from '../../src/solver/leverage-model.js';
import { type RandomProblemOptions, randomProblem } from '../helpers/random-problem.js';
import { relErr } from '../helpers/testdata.js';

/** Central differences of f along each coordinate: column j is (f(x + h e_j) - f(x - h e_j)) / 2h. */
function centralDifferences(
  f: (x: Float64Array) => ArrayLike<number>,
  x: Float64Array,
  h = 1e-6,
): number[][] {
  return Array.from(x, (_, j) => {
    const plus = Float64Array.from(x);
    const minus = Float64Array.from(x);
    plus[j] += h;
    minus[j] -= h;
    const fp = f(plus);
    const fm = f(minus);
    return Array.from(fp, (v, i) => (v - fm[i]) / (2 * h));
  });
}

/** Transposes a list of columns into a row-major flat array (rows = outputs, columns = inputs). */
const columnsToRowMajor = (cols: number[][]): number[] => {
  const out: number[] = [];
  for (let i = 0; i < cols[0].length; i++) for (const col of cols) out.push(col[i]);
  return out;
};

const cases: Array<[string, RandomProblemOptions]> = [
  ['plain 40 x 4', { n: 40, d: 4, seed: 11 }],
  ['mixed signs 50 x 5', { n: 50, d: 5, seed: 12, negative: 0.3 }],
  ['scalar regularizer 30 x 3', { n: 30, d: 3, seed: 13, regularization: 0.2 }],
  ['per-row regularizer 60 x 6', { n: 60, d: 6, seed: 14, regularization: 'per-row' }],
  ['n < d(d+1)/2: 12 x 6', { n: 12, d: 6, seed: 15 }],
];

describe.each(cases)('derivatives on a random problem: %s', (_name, options) => {
  const { problem, near } = randomProblem(options);
  const model = new LeverageModel(problem);
  const point = model.at(near);
  const factored = model.derivatives(point, { hessian: true, jacobian: true }, 'factored');
  const direct = model.derivatives(point, { hessian: true, jacobian: true }, 'direct');

  it('the point is off the solution, so every Hessian term is exercised', () => {
    expect(point.loss).toBeGreaterThan(1e-8);
  });

  it('gradient matches central differences of the loss (rel 1e-6)', () => {
    const fd = centralDifferences((x) => [model.at(x).loss], near).map((col) => col[0]);
    expect(relErr(factored.gradient, fd)).toBeLessThan(1e-6);
  });

  it('Hessian matches central differences of the gradient (rel 1e-6)', () => {
    const fd = centralDifferences((x) => model.derivatives(model.at(x), {}, 'factored').gradient, near);
    expect(relErr(factored.hessian!, columnsToRowMajor(fd))).toBeLessThan(1e-6);
  });

  it('Jacobian of the scores matches central differences of sigma(x) (rel 1e-6)', () => {
    const fd = centralDifferences((x) => model.at(x).lev, near);
    expect(relErr(factored.jacobian!, columnsToRowMajor(fd))).toBeLessThan(1e-6);
  });

  it('the factored path (no n x n array) agrees with the direct n x n formulas to 1e-12', () => {
    expect(relErr(factored.gradient, direct.gradient)).toBeLessThan(1e-12);
    expect(relErr(factored.hessian!, direct.hessian!)).toBeLessThan(1e-12);
    expect(relErr(factored.jacobian!, direct.jacobian!)).toBeLessThan(1e-12);
  });

  it('the Hessian is symmetric', () => {
    const { d } = problem;
    const H = factored.hessian!;
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) expect(H[i * d + j]).toBe(H[j * d + i]);
  });
});

describe('scores', () => {
  it('sum to d and lie in [0, 1]', () => {
    const { problem, near } = randomProblem({ n: 80, d: 7, seed: 21, negative: 0.4 });
    const lev = new LeverageModel(problem).at(near).lev;
    expect(lev.reduce((a, b) => a + b, 0)).toBeCloseTo(7, 12);
    expect(Math.min(...lev)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...lev)).toBeLessThanOrEqual(1);
  });

  it('the columns of the Jacobian sum to zero (the scores always sum to d)', () => {
    const { problem, near } = randomProblem({ n: 30, d: 3, seed: 22 });
    const model = new LeverageModel(problem);
    const { jacobian } = model.derivatives(model.at(near), { jacobian: true });
    for (let j = 0; j < 3; j++) {
      let col = 0;
      let size = 0;
      for (let i = 0; i < 30; i++) {
        col += jacobian![i * 3 + j];
        size += Math.abs(jacobian![i * 3 + j]);
      }
      expect(size).toBeGreaterThan(0.1);
      expect(Math.abs(col)).toBeLessThan(1e-12);
    }
  });
});

describe('choosePath', () => {
  it('uses the n x n formulas only when n < d(d+1)/2 and n is small', () => {
    expect(choosePath(12, 6)).toBe('direct');
    expect(choosePath(21, 6)).toBe('factored');
    expect(choosePath(200, 8)).toBe('factored');
    expect(choosePath(100000, 20)).toBe('factored');
    expect(choosePath(3000, 100)).toBe('factored');
  });
});
