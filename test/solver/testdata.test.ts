import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findStart, leverageScores, solve } from '../../src/solver/index.js';
import { LeverageModel } from '../../src/solver/leverage-model.js';
import {
  loadVector,
  relErr,
  SHARED_TESTDATA_DIR,
  testVectorNames,
  VENDORED_TESTDATA_DIR,
  vectorProblem,
} from '../helpers/testdata.js';

const names = testVectorNames();

describe('shared test vectors', () => {
  it('are all present', () => {
    expect(names).toEqual(['medium', 'mixed-signs', 'small-regularized', 'tiny']);
  });

  describe.each(names)('%s', (name) => {
    const v = loadVector(name);
    const problem = vectorProblem(v);
    const model = new LeverageModel(problem);
    const atX = Float64Array.from(v.at.x);

    it('leverage and loss at at.x to 1e-8', () => {
      const point = model.at(atX);
      expect(relErr(point.lev, v.at.leverage)).toBeLessThan(1e-8);
      expect(relErr(leverageScores(problem, atX), v.at.leverage)).toBeLessThan(1e-8);
      expect(Math.abs(point.loss - v.at.loss) / v.at.loss).toBeLessThan(1e-8);
    });

    it.each(['factored', 'direct'] as const)('gradient and Hessian at at.x to 1e-8 (%s path)', (path) => {
      const der = model.derivatives(model.at(atX), { hessian: true }, path);
      expect(relErr(der.gradient, v.at.gradient)).toBeLessThan(1e-8);
      expect(relErr(der.hessian!, v.at.hessian.flat())).toBeLessThan(1e-8);
    });

    it('default start is the analytic centre given as start', () => {
      expect(relErr(findStart(problem), v.start)).toBeLessThan(1e-8);
    });

    it.each(['newton', 'gauss-newton'] as const)('%s from the default start reaches solution.x', (method) => {
      const result = solve(problem, { method });
      expect(result.converged).toBe(true);
      expect(relErr(result.start, v.start)).toBeLessThan(1e-8);
      expect(relErr(result.x, v.solution.x)).toBeLessThan(1e-8);
      expect(Math.abs(result.loss - v.solution.loss)).toBeLessThan(1e-10 * Math.max(1, v.solution.loss));
    });
  });
});

describe('the copy of the vectors in test/fixtures/testdata', () => {
  it('holds every vector, byte for byte as ../shared/testdata when that exists beside the checkout', () => {
    const copied = readdirSync(VENDORED_TESTDATA_DIR).sort();
    expect(copied).toEqual(
      expect.arrayContaining(['medium.json', 'mixed-signs.json', 'small-regularized.json', 'tiny.json']),
    );
    if (!existsSync(SHARED_TESTDATA_DIR)) return;
    expect(copied).toEqual(readdirSync(SHARED_TESTDATA_DIR).sort());
    for (const name of copied) {
      expect(readFileSync(join(VENDORED_TESTDATA_DIR, name))).toEqual(
        readFileSync(join(SHARED_TESTDATA_DIR, name)),
      );
    }
  });
});
