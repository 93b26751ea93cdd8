/** solve(): stopping rules, hooks, recording, warnings and the invariants every run keeps. */
import { describe, expect, it } from 'vitest';
import {
  findStart,
  type Iterate,
  leverageScores,
  type Method,
  type Problem,
  solve,
} from '../../src/solver/index.js';
import { randomProblem } from '../helpers/random-problem.js';
import { relErr } from '../helpers/testdata.js';

const { problem, xStar, near } = randomProblem({ n: 60, d: 4, seed: 31 });
const mixed = randomProblem({ n: 80, d: 5, seed: 32, negative: 0.4 });

function slackSigns(p: Problem, x: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < p.n; i++) {
    let s = -p.b[i];
    for (let j = 0; j < p.d; j++) s += p.A[i * p.d + j] * x[j];
    out.push(Math.sign(s));
  }
  return out;
}

describe('hooks and recording', () => {
  it('onIterate sees every iterate in order, from the start, with x', () => {
    const seen: Iterate[] = [];
    const result = solve(problem, {}, { onIterate: (it) => seen.push(it) });
    expect(seen.map((it) => it.iteration)).toEqual(
      Array.from({ length: result.iterations + 1 }, (_, i) => i),
    );
    expect(seen[0].x).toEqual(result.start);
    expect(seen[seen.length - 1].x).toEqual(result.x);
    expect(seen[0].step).toBe(0);
    // Armijo: the loss never increases.
    for (let i = 1; i < seen.length; i++) expect(seen[i].loss).toBeLessThanOrEqual(seen[i - 1].loss);
    expect(result.iterates).toEqual(seen);
  });

  it('record.every keeps every k-th iterate plus the last, and includeX drops x', () => {
    // from the centre: the global start is already the answer, and gd would stop at iteration 0
    const result = solve(mixed.problem, {
      method: 'gd',
      start: 'centre',
      record: { every: 3, includeX: false, limit: 10000 },
    });
    const kept = result.iterates.map((it) => it.iteration);
    const expected = Array.from({ length: result.iterations + 1 }, (_, i) => i).filter((i) => i % 3 === 0);
    if (expected[expected.length - 1] !== result.iterations) expected.push(result.iterations);
    expect(kept).toEqual(expected);
    expect(result.iterates.every((it) => it.x === undefined)).toBe(true);
    expect(result.iterations).toBeGreaterThan(6);
  });

  it('record.limit keeps the first limit - 1 kept iterates and the last, and says how many it dropped', () => {
    let offered = 0;
    const result = solve(
      { ...problem, x0: near },
      { method: 'gd', lineSearch: 'none', stepSize: 1e-6, tolerance: 0, maxIterations: 3000 },
      { onIterate: () => offered++ },
    );
    expect(offered).toBe(3001);
    const limited = solve(
      { ...problem, x0: near },
      {
        method: 'gd',
        lineSearch: 'none',
        stepSize: 1e-6,
        tolerance: 0,
        maxIterations: 3000,
        record: { every: 1, includeX: true, limit: 100 },
      },
    );
    expect(limited.iterates).toHaveLength(100);
    expect(limited.iterates.map((it) => it.iteration)).toEqual([
      ...Array.from({ length: 99 }, (_, i) => i),
      3000,
    ]);
    expect(limited.iterates[99].x).toEqual(limited.x);
    expect(limited.warnings).toContain(
      'record.limit 100: 2901 recorded iterate(s) were dropped; kept the first 99 and the last',
    );
    expect(result.iterates).toHaveLength(3001);
    expect(result.warnings.some((w) => w.startsWith('record.limit'))).toBe(false);
  });

  it('record.limit counts only the iterates record.every keeps', () => {
    const result = solve(
      { ...problem, x0: near },
      {
        method: 'gd',
        lineSearch: 'none',
        stepSize: 1e-6,
        tolerance: 0,
        maxIterations: 1001,
        record: { every: 10, includeX: false, limit: 5 },
      },
    );
    expect(result.iterates.map((it) => it.iteration)).toEqual([0, 10, 20, 30, 1001]);
    // 0, 10, ..., 1000 are 101 candidates plus the last: 102, of which 5 are kept.
    expect(result.warnings).toContain(
      'record.limit 5: 97 recorded iterate(s) were dropped; kept the first 4 and the last',
    );
  });

  it('an aborted signal stops the run between iterations', () => {
    const controller = new AbortController();
    const result = solve(
      problem,
      { method: 'gd', start: 'centre' },
      {
        onIterate: (it) => {
          if (it.iteration === 2) controller.abort();
        },
        signal: controller.signal,
      },
    );
    expect([result.reason, result.iterations, result.converged]).toEqual(['aborted', 2, false]);
    expect(result.x.every(Number.isFinite)).toBe(true);
  });
});

describe('stopping rules', () => {
  it('maxIterations', () => {
    const result = solve(problem, { method: 'gd', maxIterations: 3, start: 'centre' });
    expect([result.reason, result.iterations, result.converged]).toEqual(['max-iterations', 3, false]);
    expect(result.warnings).toContainEqual(
      expect.stringMatching(/^stopped \(max-iterations\) after 3 iterations/),
    );
  });

  it('maxSeconds, on an injected clock that advances 0.4 s per reading', () => {
    let t = 0;
    const result = solve(
      problem,
      { method: 'gd', maxSeconds: 1, start: 'centre' },
      { now: () => (t += 400) },
    );
    expect(result.reason).toBe('max-seconds');
    expect(result.iterations).toBeLessThan(3);
  });

  it('gradient tolerance: already met at the start', () => {
    const result = solve(problem, { tolerance: 1e6 });
    expect([result.reason, result.iterations, result.converged]).toEqual(['gradient-tolerance', 0, true]);
  });

  it('relative loss change', () => {
    const result = solve(problem, { method: 'gd', lossChangeTolerance: 0.5, tolerance: 0 });
    expect(result.reason).toBe('loss-change');
    expect(result.converged).toBe(true);
    const last = result.iterates[result.iterates.length - 1];
    const before = result.iterates[result.iterates.length - 2];
    expect(Math.abs(before.loss - last.loss)).toBeLessThanOrEqual(0.5 * before.loss);
  });

  it('tolerance 0: Newton stops at the floating-point floor by the scale-invariant rule (step-rounding)', () => {
    const result = solve(problem, { tolerance: 0, maxIterations: 30 });
    expect(result.reason).toBe('step-rounding');
    expect(result.converged).toBe(true);
    expect(result.iterations).toBeLessThan(12);
    expect(relErr(result.x, xStar)).toBeLessThan(1e-12);
  });

  it('tolerance 0: gradient descent (no second-order step, so no step-rounding) runs to maxIterations', () => {
    const result = solve(problem, { method: 'gd', tolerance: 0, maxIterations: 300 });
    expect([result.reason, result.iterations, result.converged]).toEqual(['max-iterations', 300, false]);
  });
});

describe('invariants', () => {
  it.each(['newton', 'gauss-newton', 'gd'] as const)(
    '%s never changes the sign of any slack',
    (method: Method) => {
      const want = Array.from(mixed.problem.signs!);
      const result = solve(
        mixed.problem,
        { method },
        {
          onIterate: (it) => expect(slackSigns(mixed.problem, it.x!)).toEqual(want),
        },
      );
      expect(result.converged).toBe(true);
    },
  );

  it('the result reports the scores at x and the largest residual', () => {
    const result = solve(problem, { maxIterations: 1 });
    const lev = leverageScores(problem, Float64Array.from(result.x));
    expect(relErr(result.leverage, lev)).toBeLessThan(1e-14);
    const maxAbs = Math.max(...lev.map((v, i) => Math.abs(v - problem.sigma[i])));
    expect(result.maxAbsResidual).toBeCloseTo(maxAbs, 14);
    expect(result.timings.totalMs).toBeCloseTo(result.timings.startMs + result.timings.solveMs, 9);
  });

  it('is deterministic', () => {
    expect(solve(mixed.problem).x).toEqual(solve(mixed.problem).x);
  });

  it('x0 without signs: the cell is the one x0 lies in (a mixed-sign cell)', () => {
    // The analytic centre of the true cell, then the signs forgotten: x0 alone names the cell.
    const x0 = findStart(mixed.problem);
    const want = Array.from(mixed.problem.signs!);
    expect(want.filter((v) => v < 0).length).toBeGreaterThan(10);
    const { signs: _signs, ...withoutSigns } = mixed.problem;
    const result = solve(
      { ...withoutSigns, x0 },
      {},
      { onIterate: (it) => expect(slackSigns(mixed.problem, it.x!)).toEqual(want) },
    );
    expect(result.converged).toBe(true);
    expect(relErr(result.x, mixed.xStar)).toBeLessThan(1e-8);
    // The same run with the signs given agrees exactly.
    expect(solve({ ...mixed.problem, x0 }).x).toEqual(result.x);
    // findStart also takes the cell from x0: the centre of x0's cell is x0's own centre.
    expect(findStart({ ...withoutSigns, x0: Float64Array.from(mixed.xStar) })).toEqual(x0);
  });

  it('uses x0 when given', () => {
    const result = solve({ ...problem, x0: near });
    expect(result.start).toEqual(Array.from(near));
    expect(relErr(result.x, xStar)).toBeLessThan(1e-10);
  });
});

describe('method variants', () => {
  it("the paper's pure Newton step (lineSearch none) converges near the solution with no shift", () => {
    const result = solve({ ...problem, x0: near }, { lineSearch: 'none' });
    expect(result.converged).toBe(true);
    expect(result.iterates.slice(1).every((it) => it.step === 1 && it.shift === 0)).toBe(true);
    expect(relErr(result.x, xStar)).toBeLessThan(1e-10);
  });

  it('gradient descent with a fixed step below 2 / L converges', () => {
    const result = solve(
      { ...problem, x0: near },
      { method: 'gd', lineSearch: 'none', stepSize: 0.2, tolerance: 1e-9 },
    );
    expect(result.converged).toBe(true);
    expect(result.iterates.slice(1).every((it) => it.step === 0.2)).toBe(true);
    expect(relErr(result.x, xStar)).toBeLessThan(1e-8);
  });

  it('a fixed step that is too large does not converge, but stays in the cell and finite', () => {
    const want = slackSigns(problem, near);
    const result = solve(
      { ...problem, x0: near },
      { method: 'gd', lineSearch: 'none', stepSize: 5, maxIterations: 200 },
      { onIterate: (it) => expect(slackSigns(problem, it.x!)).toEqual(want) },
    );
    expect(result.reason).toBe('max-iterations');
    expect(result.x.every(Number.isFinite)).toBe(true);
    expect(Number.isFinite(result.loss)).toBe(true);
  });
});

describe('targets that cannot be fit exactly', () => {
  it('scores that do not sum to d: a warning and a finite least-squares fit', () => {
    const sigma = problem.sigma.map((v) => v * 0.9);
    const result = solve({ ...problem, sigma });
    expect(result.warnings[0]).toMatch(/^the target scores sum to 3\.6000000, not d = 4: .* least squares$/);
    expect(result.x.every(Number.isFinite)).toBe(true);
    expect(Number.isFinite(result.loss)).toBe(true);
    expect(result.maxAbsResidual).toBeGreaterThan(1e-3);
  });
});
