/** The pieces of one iteration: shifted Cholesky, Newton and Gauss-Newton directions, the step rule. */
import { describe, expect, it } from 'vitest';
import { currentKernels } from '../../src/solver/kernels.js';
import { LeverageModel } from '../../src/solver/leverage-model.js';
import { searchStep, wallLimit } from '../../src/solver/line-search.js';
import { solveShifted } from '../../src/solver/shifted-cholesky.js';
import { gaussNewtonDirection, newtonDirection } from '../../src/solver/step-direction.js';
import { randomProblem } from '../helpers/random-problem.js';

// Eigenvalues -1 and 3: indefinite.
const indefinite = Float64Array.from([1, 2, 2, 1]);

describe('solveShifted', () => {
  it('uses no shift for a positive definite matrix', () => {
    const solved = solveShifted(Float64Array.from([4, 1, 1, 3]), 2, Float64Array.from([1, 2]));
    expect(solved!.shift).toBe(0);
    // [4 1; 1 3] x = [1; 2] -> x = [1/11, 7/11]
    expect(solved!.solution[0]).toBeCloseTo(1 / 11, 14);
    expect(solved!.solution[1]).toBeCloseTo(7 / 11, 14);
  });

  it('picks the smallest doubling shift above -lambda_min', () => {
    const solved = solveShifted(indefinite, 2, Float64Array.from([1, 0]))!;
    // base 1e-8 * max|H_ii| = 1e-8; the first 1e-8 * 2^k above 1 is 2^27 * 1e-8 = 1.342...
    expect(solved.shift).toBeCloseTo(1e-8 * 2 ** 27, 20);
    expect(solved.shift / 2).toBeLessThan(1);
  });

  it('returns null for a matrix with NaN', () => {
    expect(solveShifted(Float64Array.from([Number.NaN, 0, 0, 1]), 2, Float64Array.from([1, 1]))).toBeNull();
  });
});

describe('newtonDirection', () => {
  const g = Float64Array.from([1, -1]);

  it('pure step: solves H p = -g even when H is indefinite', () => {
    const dir = newtonDirection(indefinite, g, 2)!;
    expect(dir.shift).toBe(0);
    // H p = -g: [1 2; 2 1] p = [-1; 1] -> p = [1, -1]
    expect(Array.from(dir.p)).toEqual([expect.closeTo(1, 14), expect.closeTo(-1, 14)]);
  });

  it('safeguarded: shifts until the factorisation succeeds and the step is accepted', () => {
    const shortStep = (p: Float64Array) => Math.hypot(p[0], p[1]) < 0.1;
    const dir = newtonDirection(indefinite, g, 2, shortStep)!;
    expect(dir.shift).toBeGreaterThan(1);
    expect(Math.hypot(dir.p[0], dir.p[1])).toBeLessThan(0.1);
    // -g^T p > 0: a descent direction.
    expect(-(g[0] * dir.p[0] + g[1] * dir.p[1])).toBeGreaterThan(0);
  });
});

describe('gaussNewtonDirection', () => {
  it('solves the least-squares problem min ||J p + r|| by QR', () => {
    // J = [1 0; 0 2; 0 0], r = [1, 1, 5]: p = [-1, -1/2]
    const dir = gaussNewtonDirection(
      Float64Array.from([1, 0, 0, 2, 0, 0]),
      Float64Array.from([1, 1, 5]),
      null,
      null,
      3,
      2,
      currentKernels(),
    )!;
    expect(dir.shift).toBe(0);
    expect(dir.p[0]).toBeCloseTo(-1, 14);
    expect(dir.p[1]).toBeCloseTo(-0.5, 14);
  });

  it('adds a shift when J is rank-deficient', () => {
    const dir = gaussNewtonDirection(
      Float64Array.from([1, 1, 1, 1, 1, 1]),
      Float64Array.from([1, 1, 1]),
      null,
      null,
      3,
      2,
      currentKernels(),
    )!;
    expect(dir.shift).toBeGreaterThan(0);
    expect(dir.p.every(Number.isFinite)).toBe(true);
  });

  it('with a regularizer block: the minimiser of the stacked problem (normal equations as the check)', () => {
    // J (4 x 2), rho, W A (4 x 2), W A x: p solves (J^T J + (WA)^T WA) p = -(J^T rho + (WA)^T (WAx))
    const J = Float64Array.from([1, 2, -1, 0.5, 3, 1, 0, -2]);
    const rho = Float64Array.from([0.3, -0.1, 0.7, 0.2]);
    const WA = Float64Array.from([0.1, 0, 0, 0.2, 0.1, 0.1, -0.2, 0]);
    const WAx = Float64Array.from([0.05, -0.02, 0.01, 0.03]);
    const dir = gaussNewtonDirection(J, rho, WA, WAx, 4, 2, currentKernels())!;
    const M = [0, 0, 0, 0];
    const v = [0, 0];
    for (const [rows, res] of [
      [J, rho],
      [WA, WAx],
    ] as const) {
      for (let i = 0; i < 4; i++) {
        for (let a = 0; a < 2; a++) {
          v[a] -= rows[i * 2 + a] * res[i];
          for (let b = 0; b < 2; b++) M[a * 2 + b] += rows[i * 2 + a] * rows[i * 2 + b];
        }
      }
    }
    const det = M[0] * M[3] - M[1] * M[2];
    expect(dir.shift).toBe(0);
    expect(dir.p[0]).toBeCloseTo((M[3] * v[0] - M[1] * v[1]) / det, 12);
    expect(dir.p[1]).toBeCloseTo((M[0] * v[1] - M[2] * v[0]) / det, 12);
  });
});

describe('step rule', () => {
  it('wallLimit is the first alpha at which a slack reaches 0', () => {
    expect(wallLimit(Float64Array.from([1, 2, -1]), Float64Array.from([-4, 1, 0.5]))).toBe(0.25);
    expect(wallLimit(Float64Array.from([1, -1]), Float64Array.from([1, -1]))).toBe(Infinity);
  });

  it('stops 1% short of the wall and backtracks until Armijo holds', () => {
    const { problem, near } = randomProblem({ n: 40, d: 3, seed: 7 });
    const model = new LeverageModel(problem);
    const point = model.at(near);
    const { gradient } = model.derivatives(point, {});
    const p = gradient.map((v) => -1e3 * v);
    const wall = wallLimit(point.s, model.apply(p));
    const step = searchStep(model, point, gradient, p, 1, true)!;
    expect(wall).toBeLessThan(1);
    // 0.99 * wall, halved some number of times.
    const halvings = Math.log2((0.99 * wall) / step.alpha);
    expect(Math.abs(halvings - Math.round(halvings))).toBeLessThan(1e-9);
    expect(step.point.loss).toBeLessThan(point.loss);
  });

  it('returns null for an ascent direction', () => {
    const { problem, near } = randomProblem({ n: 40, d: 3, seed: 7 });
    const model = new LeverageModel(problem);
    const point = model.at(near);
    const { gradient } = model.derivatives(point, {});
    expect(searchStep(model, point, gradient, gradient, 1, true)).toBeNull();
  });
});
