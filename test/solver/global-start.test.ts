/**
 * The global start: x and its cell from A, b and sigma alone (src/solver/global-start.ts), checked against
 * the generator's xStar and signs on problems whose cell is hidden from the solver.
 */
import { describe, expect, it } from 'vitest';
import { globalStart } from '../../src/solver/global-start.js';
import { solve } from '../../src/solver/index.js';
import { currentKernels } from '../../src/solver/kernels.js';
import { NO_STOP } from '../../src/solver/stop.js';
import { type HiddenCellOptions, hiddenCellProblem, relativeError } from '../helpers/hidden-cell.js';

const wrongSigns = (found: ArrayLike<number>, signs: Int8Array): number => {
  let wrong = 0;
  for (let i = 0; i < signs.length; i++) if (found[i] !== signs[i]) wrong++;
  return wrong;
};

describe('finds xStar and its cell with no signs and no x0', () => {
  it.each([
    ['30 x 3, 30% negative', { n: 30, d: 3, seed: 1 }],
    ['200 x 5, 50% negative', { n: 200, d: 5, seed: 2, negative: 0.5 }],
    ['2000 x 10, Student t rows (3 degrees of freedom)', { n: 2000, d: 10, seed: 3, rows: 't3' }],
    ['2000 x 10, Cauchy rows', { n: 2000, d: 10, seed: 4, rows: 'cauchy' }],
    ['2000 x 10, slacks down to 1e-3 of the largest', { n: 2000, d: 10, seed: 5, slacks: 'near-wall' }],
    ['2000 x 10, slacks from e^-4 to e^4', { n: 2000, d: 10, seed: 6, slacks: 'spread' }],
    ['50000 x 4, tall, 40% negative', { n: 50_000, d: 4, seed: 7, negative: 0.4 }],
  ] as Array<[string, HiddenCellOptions]>)('%s', (_name, options) => {
    const { problem, xStar, signs } = hiddenCellProblem(options);
    const found = globalStart(problem, currentKernels(), NO_STOP);
    expect(found).toBeDefined();
    expect(wrongSigns(found!.signs, signs)).toBe(0);
    expect(relativeError(found!.x, xStar)).toBeLessThan(1e-8);
    expect(found!.ambiguity).toBeUndefined();
    // and the whole solve, by default, ends there
    const result = solve(problem);
    expect(result.startMethod).toBe('global');
    expect(result.converged).toBe(true);
    expect(relativeError(result.x, xStar)).toBeLessThan(1e-10);
    expect(result.negativeSlacks).toBe(signs.filter((s) => s < 0).length);
    expect(wrongSigns(result.signs, signs)).toBe(0);
  });
});

describe('what can be known', () => {
  it('b = 0: x only up to a nonzero factor; -x is returned beside it', () => {
    const { problem, xStar } = hiddenCellProblem({ n: 300, d: 5, seed: 8, homogeneous: true });
    const result = solve(problem);
    expect(result.converged).toBe(true);
    const x = Float64Array.from(result.x);
    let dot = 0;
    for (let j = 0; j < 5; j++) dot += x[j] * xStar[j];
    const cos = dot / (Math.hypot(...x) * Math.hypot(...xStar));
    expect(Math.abs(Math.abs(cos) - 1)).toBeLessThan(1e-12);
    expect(result.ambiguity).toMatch(/^b = 0: the scores do not change when x is multiplied by any nonzero/);
    expect(result.alternatives).toEqual([result.x.map((v) => -v)]);
  });

  it('n below the lifting size: a note that signs would settle it, and with them xStar', () => {
    // (d+1)(d+2)/2 = 45 unknowns in the lifted system, 40 rows
    const { problem, xStar, signs } = hiddenCellProblem({ n: 40, d: 8, seed: 10 });
    const result = solve(problem);
    expect(result.ambiguity).toMatch(/n is below the lifting size .*give signs to settle it$/);
    // no start found here reaches xStar's cell (a local minimum elsewhere): what the note warns of
    expect(result.startMethod).toBe('global');
    // with the signs the note goes away and the same x comes back
    const signed = solve({ ...problem, signs });
    expect(signed.startMethod).toBe('global-signs');
    expect(signed.ambiguity).toBeUndefined();
    expect(relativeError(signed.x, xStar)).toBeLessThan(1e-10);
  });

  it('n just above the lifting size: xStar, and no note', () => {
    // (d+1)(d+2)/2 = 45 unknowns, 50 rows
    const { problem, xStar, signs } = hiddenCellProblem({ n: 50, d: 8, seed: 10 });
    const result = solve(problem);
    expect(result.ambiguity).toBeUndefined();
    expect(wrongSigns(result.signs, signs)).toBe(0);
    expect(relativeError(result.x, xStar)).toBeLessThan(1e-10);
  });

  it('noisy targets (1e-4 relative on each score): x within 1e-2, at the loss minimum of the found cell', () => {
    const { problem, xStar, signs } = hiddenCellProblem({ n: 2000, d: 10, seed: 9, noise: 1e-4 });
    const result = solve(problem);
    expect(result.converged).toBe(true);
    expect(wrongSigns(result.signs, signs)).toBe(0);
    expect(relativeError(result.x, xStar)).toBeLessThan(1e-2);
    expect(result.maxAbsResidual).toBeGreaterThan(0);
  });

  it('signs that do not hold the answer: the analytic centre of that cell, with a warning', () => {
    const { problem, xStar, signs } = hiddenCellProblem({ n: 60, d: 2, seed: 12, negative: 0 });
    // a neighbouring cell the scores do not come from: flip the row whose wall is nearest xStar
    let nearest = 0;
    let distance = Number.POSITIVE_INFINITY;
    for (let i = 0; i < problem.n; i++) {
      const [a0, a1] = [problem.A[2 * i], problem.A[2 * i + 1]];
      const d = Math.abs(a0 * xStar[0] + a1 * xStar[1] - problem.b[i]) / Math.hypot(a0, a1);
      if (d < distance) [nearest, distance] = [i, d];
    }
    const other = Int8Array.from(signs);
    other[nearest] = -other[nearest];
    const result = solve({ ...problem, signs: other }, { maxIterations: 1 });
    expect(result.startMethod).toBe('centre');
    expect(result.warnings).toContainEqual(
      expect.stringMatching(/is not in the cell `signs` names: started from/),
    );
  });

  it('start: centre keeps the old behaviour: the centre of the all-positive cell', () => {
    const { problem } = hiddenCellProblem({ n: 40, d: 3, seed: 13, negative: 0 });
    const result = solve(problem, { start: 'centre', maxIterations: 0 });
    expect(result.startMethod).toBe('centre');
    expect(result.negativeSlacks).toBe(0);
  });
});
