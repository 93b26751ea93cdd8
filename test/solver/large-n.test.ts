/**
 * n = 1,000,000 rows: no step may spread an n-length array into a call's arguments (Math.min(...s) threw
 * RangeError from about 130k rows), and the start point plus two iterations stay well within 30 s here.
 */
import { describe, expect, it } from 'vitest';
import { solve } from '../../src/solver/index.js';
import { randomProblem } from '../helpers/random-problem.js';

describe('n = 1,000,000', () => {
  it('finds the analytic centre of a generated problem and takes two Newton iterations', () => {
    const { problem, xStar } = randomProblem({ n: 1_000_000, d: 3, seed: 11 });
    // The origin is outside the cell, so phase I runs (it took the minimum over all n slacks).
    let outside = 0;
    for (let i = 0; i < problem.n; i++) if (-problem.b[i] <= 0) outside++;
    expect(outside).toBeGreaterThan(1000);

    const result = solve(problem, { maxIterations: 2, start: 'centre' });
    expect(result.iterations).toBeGreaterThanOrEqual(1);
    expect(result.iterates[0].iteration).toBe(0);
    expect(result.x.every(Number.isFinite)).toBe(true);
    expect(result.loss).toBeLessThan(result.iterates[0].loss);
    // The solution is found this close after two steps from the centre.
    const err = Math.hypot(...result.x.map((v, j) => v - xStar[j])) / Math.hypot(...xStar);
    expect(err).toBeLessThan(1e-3);
  });
});
