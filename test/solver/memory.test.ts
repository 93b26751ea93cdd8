/**
 * estimateSolveBytes: what a service refuses on. The figures it must cover were measured by
 * bench/memory-estimate.ts (peak RSS above an idle process): 2001 x 700 Newton 1384 MB, 100000 x 20
 * Newton 155 MB, 2000 x 64 (direct path) Gauss-Newton 169 MB.
 */
import { describe, expect, it } from 'vitest';
import { estimateSolveBytes, METHODS, type Method } from '../../src/solver/index.js';

const MB = 2 ** 20;

describe('estimateSolveBytes', () => {
  it('covers the measured peaks', () => {
    expect(estimateSolveBytes(2001, 700, 'newton')).toBeGreaterThanOrEqual(1384 * MB);
    expect(estimateSolveBytes(100_000, 20, 'newton')).toBeGreaterThanOrEqual(155 * MB);
    expect(estimateSolveBytes(2000, 64, 'gauss-newton')).toBeGreaterThanOrEqual(169 * MB);
  });

  it('refuses what the issue saw: 2001 x 700 Newton >= 1.2 GB, d = 1600 about 15 GiB', () => {
    expect(estimateSolveBytes(2001, 700, 'newton')).toBeGreaterThanOrEqual(1.2e9);
    const d1600 = estimateSolveBytes(2001, 1600, 'newton') / 2 ** 30;
    expect(d1600).toBeGreaterThan(15);
    expect(d1600).toBeLessThan(25);
  });

  it('stays modest where the solver is lean: 100000 x 20 Newton <= 500 MB', () => {
    expect(estimateSolveBytes(100_000, 20, 'newton')).toBeLessThanOrEqual(5e8);
  });

  it('gd needs far less than Newton at large d (no d(d+1)/2 x d factor)', () => {
    expect(estimateSolveBytes(2001, 700, 'gd')).toBeLessThan(estimateSolveBytes(2001, 700, 'newton') / 4);
    expect(estimateSolveBytes(2001, 1600, 'gd')).toBeLessThan(estimateSolveBytes(2001, 1600, 'newton') / 20);
  });

  // The solver itself needs less just past the direct/factored switch (n = 2001 or n >= d(d+1)/2); the
  // estimate never drops there, so that a limit cannot accept a problem and refuse a smaller one.
  it.each(METHODS)(
    '%s: never decreases in n or in d, across the direct/factored switch',
    (method: Method) => {
      const shapes = [100, 500, 1000, 1999, 2000, 2001, 2016, 2080, 5000, 100_000];
      for (const d of [3, 40, 63, 64, 200]) {
        const byN = shapes.filter((n) => n >= d).map((n) => estimateSolveBytes(n, d, method));
        for (let i = 1; i < byN.length; i++) expect(byN[i]).toBeGreaterThanOrEqual(byN[i - 1]);
        expect(byN[byN.length - 1]).toBeGreaterThan(byN[0]);
      }
      for (const n of [1000, 2000, 2001, 10_000]) {
        const byD = [1, 2, 10, 40, 44, 45, 62, 63, 64, 100, 700].map((d) => estimateSolveBytes(n, d, method));
        for (let i = 1; i < byD.length; i++) expect(byD[i]).toBeGreaterThanOrEqual(byD[i - 1]);
        expect(byD[byD.length - 1]).toBeGreaterThan(byD[0]);
      }
    },
  );

  it('is a finite positive integer', () => {
    for (const method of METHODS) {
      const bytes = estimateSolveBytes(12, 3, method);
      expect(Number.isInteger(bytes)).toBe(true);
      expect(bytes).toBeGreaterThan(0);
    }
  });
});
