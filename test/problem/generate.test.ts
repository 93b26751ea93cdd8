import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/problem/errors.js';
import { type GeneratedProblem, generateProblem, MAX_DRAWS } from '../../src/problem/generate.js';
import { parseProblem } from '../../src/problem/parse.js';

/** A xStar - b for a generated problem. */
function slacks(p: GeneratedProblem): number[] {
  return p.A.map((row, i) => row.reduce((s, a, j) => s + a * p.xStar[j], 0) - p.b[i]);
}

function sum(values: number[]): number {
  return values.reduce((s, v) => s + v, 0);
}

describe('generateProblem', () => {
  it('is deterministic in its seed', () => {
    const a = generateProblem({ n: 30, d: 3, seed: 5 });
    expect(generateProblem({ n: 30, d: 3, seed: 5 })).toEqual(a);
    expect(generateProblem({ n: 30, d: 3, seed: 6 }).A).not.toEqual(a.A);
    // seed 1 is the default
    expect(generateProblem({ n: 30, d: 3 })).toEqual(generateProblem({ n: 30, d: 3, seed: 1 }));
  });

  it('makes scores that sum to d, in [0, 1], taken at xStar inside the all-positive cell', () => {
    const p = generateProblem({ n: 50, d: 5, seed: 2 });
    expect(p.A).toHaveLength(50);
    expect(p.A.every((row) => row.length === 5)).toBe(true);
    expect(p.xStar).toHaveLength(5);
    expect(p.signs).toBeUndefined();
    expect(Math.abs(sum(p.sigma) - 5)).toBeLessThan(1e-9);
    expect(p.sigma.every((s) => s >= 0 && s <= 1)).toBe(true);
    for (const s of slacks(p)) {
      expect(s).toBeGreaterThan(0.5 - 1e-9);
      expect(s).toBeLessThan(1.5 + 1e-9);
    }
  });

  it('makes about 30% negative slacks for mixed signs, with signs = sign of the slacks', () => {
    let negatives = 0;
    let total = 0;
    for (const seed of [1, 2, 3]) {
      const p = generateProblem({ n: 200, d: 4, seed, signs: 'mixed' });
      expect(p.signs).toHaveLength(200);
      const s = slacks(p);
      p.signs!.forEach((sign, i) => {
        expect(Math.sign(s[i])).toBe(sign);
        expect(Math.abs(s[i])).toBeGreaterThan(0.5 - 1e-9);
        expect(Math.abs(s[i])).toBeLessThan(1.5 + 1e-9);
      });
      negatives += p.signs!.filter((sign) => sign === -1).length;
      total += p.signs!.length;
      expect(Math.abs(sum(p.sigma) - 4)).toBeLessThan(1e-9);
    }
    expect(negatives / total).toBeGreaterThan(0.25);
    expect(negatives / total).toBeLessThan(0.35);
  });

  it('produces documents that parseProblem accepts, keeping xStar', () => {
    for (const signs of ['positive', 'mixed'] as const) {
      const doc = generateProblem({ n: 40, d: 3, seed: 9, signs });
      const { problem, xStar } = parseProblem(JSON.parse(JSON.stringify(doc)));
      expect(problem.n).toBe(40);
      expect(problem.d).toBe(3);
      expect(Array.from(xStar ?? [])).toEqual(doc.xStar);
      expect(problem.signs === undefined).toBe(signs === 'positive');
    }
  });

  it('rejects bad sizes with an InputError naming the parameter', () => {
    const cases: [Parameters<typeof generateProblem>[0], string][] = [
      [{ n: 3, d: 4 }, 'n: expected n >= d = 4, got 3'],
      [{ n: 3, d: 0 }, 'd: expected an integer >= 1, got 0'],
      [{ n: 3.5, d: 2 }, 'n: expected an integer >= 1, got 3.5'],
      [{ n: 10, d: 2, seed: 0.5 }, 'seed: expected an integer, got 0.5'],
      [{ n: 10, d: 2, signs: 'negative' as 'mixed' }, 'signs: expected one of positive, mixed, got negative'],
    ];
    for (const [params, message] of cases) {
      expect(() => generateProblem(params)).toThrow(InputError);
      expect(() => generateProblem(params)).toThrow(message);
    }
  });

  it(`gives up after ${MAX_DRAWS} draws when every cell is unbounded (n = d)`, () => {
    expect(() => generateProblem({ n: 3, d: 3 })).toThrow(
      `n: no draw in ${MAX_DRAWS} gave a bounded cell for n = 3, d = 3; use more rows (n well above d)`,
    );
  });
});
