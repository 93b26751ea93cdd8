/**
 * The numpy reference of the global start (scripts/numpy_global_start.py) that `npm run bench` times
 * levinv's against must be the same method: on the same problem it takes about as many weight passes
 * and x agrees to 1e-10. Skipped where python3 or numpy is missing (the benchmark then skips its column the same way).
 */
import { describe, expect, it } from 'vitest';
import {
  numpyUnavailable,
  relativeDifference,
  runNumpyGlobalStart,
} from '../../src/bench/numpy-reference.js';
import { globalStart } from '../../src/solver/global-start.js';
import type { Problem } from '../../src/solver/index.js';
import { currentKernels } from '../../src/solver/kernels.js';
import { NO_STOP } from '../../src/solver/stop.js';
import { type HiddenCellOptions, hiddenCellProblem } from '../helpers/hidden-cell.js';

const missing = numpyUnavailable();

const cases: Array<[string, HiddenCellOptions, boolean]> = [
  ['30 x 3, 30% negative', { n: 30, d: 3, seed: 1 }, false],
  ['400 x 8, 50% negative', { n: 400, d: 8, seed: 32, negative: 0.5 }, false],
  ['2000 x 10, Student t rows', { n: 2000, d: 10, seed: 3, rows: 't3' }, false],
  ['2000 x 10, Cauchy rows', { n: 2000, d: 10, seed: 4, rows: 'cauchy' }, false],
  ['2000 x 10, slacks from e^-4 to e^4', { n: 2000, d: 10, seed: 6, slacks: 'spread' }, false],
  ['2000 x 10, 5% noise on the targets', { n: 2000, d: 10, seed: 9, noise: 0.05 }, false],
  ['2000 x 10, signs given', { n: 2000, d: 10, seed: 11 }, true],
];

describe.skipIf(missing !== null).each(cases)(
  'numpy global start vs levinv: %s',
  (_name, options, withSigns) => {
    const { problem: hidden, signs } = hiddenCellProblem(options);
    const problem: Problem = withSigns ? { ...hidden, signs } : hidden;
    const ours = globalStart(problem, currentKernels(), NO_STOP, problem.signs);
    const theirs = runNumpyGlobalStart(problem, { withSigns, threads: 1 });

    it('takes about as many weight passes', () => {
      expect(ours).toBeDefined();
      expect(theirs.x).not.toBeNull();
      // Equal where the iteration is fast; on hard problems (hundreds of passes) the last ones decide, by
      // rounding, which accelerated steps pass the F test and when the 1e-13 tolerance is met: within 15%.
      const passes = theirs.weightPasses!;
      if (ours!.weightPasses < 50) expect(passes).toBe(ours!.weightPasses);
      else expect(Math.abs(passes - ours!.weightPasses)).toBeLessThanOrEqual(0.15 * ours!.weightPasses);
      expect(theirs.threads).toBe(1);
    });

    it('ends at the same x to 1e-10 relative, in the same cell', () => {
      expect(relativeDifference(ours!.x, theirs.x!)).toBeLessThan(1e-10);
      expect(theirs.negative).toBe(ours!.signs.filter((s) => s < 0).length);
    });
  },
);
