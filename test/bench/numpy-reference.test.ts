/**
 * The numpy reference (scripts/numpy_newton.py) that `npm run bench` times levinv against must be the same
 * method: from the same start it takes the same iterates (losses equal step by step) and ends at the same x.
 * Skipped where python3 or numpy is missing (the benchmark then skips its column the same way).
 */
import { describe, expect, it } from 'vitest';
import { numpyUnavailable, relativeDifference, runNumpyNewton } from '../../bench/numpy-reference.js';
import { type Problem, solve } from '../../src/solver/index.js';
import { randomProblem } from '../helpers/random-problem.js';
import { issueProblem } from '../helpers/stalling-problems.js';
import { loadVector, vectorProblem } from '../helpers/testdata.js';

const missing = numpyUnavailable();

describe('numpyUnavailable', () => {
  it('names a missing interpreter', () => {
    expect(numpyUnavailable('python3-that-does-not-exist')).toBe('python3-that-does-not-exist not found');
  });
});

describe('relativeDifference', () => {
  it('is ||a - b|| / ||a||, or ||a - b|| when a = 0', () => {
    expect(relativeDifference([3, 4], [3, 4])).toBe(0);
    expect(relativeDifference([3, 4], [3, 3])).toBeCloseTo(0.2, 15);
    expect(relativeDifference([0, 0], [3, 4])).toBe(5);
  });
});

const cases: Array<[string, () => Problem]> = [
  ['plain 300 x 6', () => randomProblem({ n: 300, d: 6, seed: 31 }).problem],
  ['mixed signs 400 x 8', () => randomProblem({ n: 400, d: 8, seed: 32, negative: 0.3 }).problem],
  ['testdata/small-regularized', () => vectorProblem(loadVector('small-regularized'))],
  ['testdata/medium', () => vectorProblem(loadVector('medium'))],
  // ends by the scale-invariant rule (reason step-rounding) on both sides
  ['near the walls 2000 x 10 (issue #8)', () => issueProblem('near-walls', 1).problem],
];

describe.skipIf(missing !== null).each(cases)('numpy reference vs levinv: %s', (_name, make) => {
  const problem = make();
  const ours = solve(problem, { method: 'newton' });
  const start = Float64Array.from(ours.start);
  const theirs = runNumpyNewton(problem, start, { maxIterations: 100, tolerance: 1e-10, threads: 1 });

  it('converges like levinv, in the same number of iterations', () => {
    expect(ours.converged).toBe(true);
    expect(theirs.converged).toBe(true);
    expect(theirs.reason).toBe(ours.reason);
    expect(theirs.iterations).toBe(ours.iterations);
    expect(theirs.threads).toBe(1);
  });

  it('takes the same path: the loss, step and shift at every iterate agree', () => {
    expect(theirs.iterates).toHaveLength(ours.iterates.length);
    ours.iterates.forEach((it, k) => {
      const np = theirs.iterates[k];
      // the losses fall from ~1e-1 to ~1e-20: compare relative to each, down to a floor near rounding
      // (near the walls the scores carry ~1e-12 relative rounding, so a loss of 1e-11 agrees to ~1e-6)
      expect(Math.abs(np.loss - it.loss)).toBeLessThanOrEqual(1e-4 * it.loss + 1e-18);
      expect(Math.abs(np.step - it.step)).toBeLessThanOrEqual(1e-9 * it.step);
      expect(np.shift === 0).toBe(it.shift === 0);
    });
  });

  it('ends at the same x to 1e-10 relative', () => {
    expect(relativeDifference(ours.x, theirs.x)).toBeLessThan(1e-10);
    if (ours.reason === 'gradient-tolerance') expect(theirs.gradNorm).toBeLessThanOrEqual(1e-10);
  });
});
