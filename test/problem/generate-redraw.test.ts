/** The redraw logic, with findStart replaced so that the cells it rejects are under the test's control. */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { generateProblem } from '../../src/problem/generate.js';
import { findStart, SolverError } from '../../src/solver/index.js';

vi.mock('../../src/solver/index.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/solver/index.js')>();
  return { ...actual, findStart: vi.fn(actual.findStart) };
});

const realFindStart = (
  await vi.importActual<typeof import('../../src/solver/index.js')>('../../src/solver/index.js')
).findStart;

/** findStart that rejects the first `count` cells with `code`, then behaves normally. */
function rejectFirst(count: number, code: 'UNBOUNDED_CELL' | 'EMPTY_CELL' | 'RANK_DEFICIENT'): void {
  let calls = 0;
  vi.mocked(findStart).mockImplementation((problem) => {
    calls++;
    if (calls <= count) throw new SolverError(code, `rejected draw ${calls}`);
    return realFindStart(problem);
  });
}

describe('generateProblem redraws', () => {
  beforeEach(() => {
    vi.mocked(findStart).mockReset();
  });

  it('redraws deterministically from the same stream when a cell has no centre', () => {
    rejectFirst(0, 'UNBOUNDED_CELL');
    const first = generateProblem({ n: 20, d: 2, seed: 4 });
    rejectFirst(2, 'UNBOUNDED_CELL');
    const third = generateProblem({ n: 20, d: 2, seed: 4 });
    rejectFirst(2, 'EMPTY_CELL');
    vi.mocked(findStart).mockClear();
    const thirdAgain = generateProblem({ n: 20, d: 2, seed: 4 });
    expect(third).toEqual(thirdAgain);
    expect(third.A).not.toEqual(first.A);
    expect(vi.mocked(findStart)).toHaveBeenCalledTimes(3);
  });

  it('passes other solver errors through', () => {
    rejectFirst(1, 'RANK_DEFICIENT');
    expect(() => generateProblem({ n: 20, d: 2 })).toThrow('rejected draw 1');
  });

  it('gives up after 20 draws', () => {
    rejectFirst(20, 'UNBOUNDED_CELL');
    expect(() => generateProblem({ n: 20, d: 2 })).toThrow(
      /no draw in 20 gave a bounded cell for n = 20, d = 2/,
    );
    expect(vi.mocked(findStart)).toHaveBeenCalledTimes(20);
  });
});
