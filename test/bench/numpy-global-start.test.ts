/**
 * The numpy reference of the global start (scripts/numpy_global_start.py) that `npm run bench` times
 * levinv's against must be the same method: on the same problem it reaches the same weights (in as many
 * passes where that takes few) and x agrees to 1e-10. Skipped where python3 or numpy is missing (the benchmark then skips its column the same way).
 */
import { describe, expect, it } from 'vitest';
import { numpyUnavailable, relativeDifference, runNumpyGlobalStart } from '../../bench/numpy-reference.js';
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

    it('reaches the weights in as many passes where the iteration is quick', () => {
      expect(ours).toBeDefined();
      expect(theirs.x).not.toBeNull();
      expect(theirs.threads).toBe(1);
      // On hard problems (hundreds of passes) the last passes sit at F's rounding level, where rounding
      // decides which accelerated steps pass the F test: the counts then differ, the weights do not.
      if (ours!.weightPasses < 50) expect(theirs.weightPasses).toBe(ours!.weightPasses);
      expect(ours!.weightResidual).toBeLessThan(1e-10);
      expect(theirs.weightResidual!).toBeLessThan(1e-10);
    });

    it('ends at the same x to 1e-10 relative, in the same cell', () => {
      expect(relativeDifference(ours!.x, theirs.x!)).toBeLessThan(1e-10);
      expect(theirs.negative).toBe(ours!.signs.filter((s) => s < 0).length);
    });
  },
);
