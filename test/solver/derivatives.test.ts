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
  // factored since the cost model; the direct path before (n < d(d+1)/2 = 210)
  ['n < d(d+1)/2 but past the cost switch: 150 x 20', { n: 150, d: 20, seed: 16 }],
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

  // bench/path-bench.ts, ms for one gradient + Hessian, direct / factored, medians of 3 runs on the
  // (loaded) 2-core machine
  it.each([
    [400, 30, 'factored'], // 304 / 55 (was direct: n < 465)
    [1900, 62, 'factored'], // 35200 / 1880 (was direct: n < 1953)
    [600, 62, 'factored'], // 954 / 687
    [400, 62, 'direct'], // 474 / 597
    [160, 40, 'direct'], // 41 / 82
    [120, 30, 'direct'], // 14 / 23
    [240, 30, 'factored'], // 83 / 35
    [60, 20, 'direct'], // 1.8 / 3.5
    [160, 20, 'factored'], // 23 / 5.8
    [20, 12, 'direct'], // 0.13 / 0.38
    [60, 12, 'factored'], // 1.7 / 0.75
  ] as const)('%i x %i: %s (the cheaper measured path)', (n, d, path) => {
    expect(choosePath(n, d)).toBe(path);
  });

  it('never direct at n >= d(d+1)/2 (memory.ts counts n x n arrays only below it) or n > 2000', () => {
    for (const d of [2, 3, 4, 6, 10, 64, 100]) {
      expect(choosePath((d * (d + 1)) / 2, d)).toBe('factored');
    }
    expect(choosePath(2001, 700)).toBe('factored');
  });

  it('switches once along n: direct below a crossing, factored above it', () => {
    for (const d of [8, 20, 40, 62]) {
      const paths = Array.from({ length: 2000 - d }, (_, k) => choosePath(d + 1 + k, d));
      const firstFactored = paths.indexOf('factored');
      expect(firstFactored).toBeGreaterThan(0);
      expect(paths.slice(firstFactored).every((p) => p === 'factored')).toBe(true);
    }
  });
});
