import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/problem/random.js';

function draws(seed: number, count: number): number[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, () => rng.next());
}

describe('createRng', () => {
  it('is deterministic per seed and differs between seeds', () => {
    expect(draws(42, 100)).toEqual(draws(42, 100));
    expect(draws(1, 10)).not.toEqual(draws(2, 10));
    // the high half of a large seed matters
    expect(draws(2 ** 32, 10)).not.toEqual(draws(0, 10));
    expect(draws(2 ** 40 + 1, 10)).not.toEqual(draws(2 ** 40, 10));
    expect(draws(-1, 10)).not.toEqual(draws(1, 10));
  });

  it('draws uniforms in [0, 1) with the right mean', () => {
    const values = draws(7, 100_000);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
    const rng = createRng(3);
    for (let i = 0; i < 1000; i++) {
      const u = rng.uniform(0.5, 1.5);
      expect(u).toBeGreaterThanOrEqual(0.5);
      expect(u).toBeLessThan(1.5);
    }
  });

  it('draws standard normals', () => {
    const rng = createRng(11);
    const count = 200_000;
    let sum = 0;
    let sumSquares = 0;
    let beyond2 = 0;
    for (let i = 0; i < count; i++) {
      const z = rng.normal();
      sum += z;
      sumSquares += z * z;
      if (Math.abs(z) > 2) beyond2++;
    }
    expect(Math.abs(sum / count)).toBeLessThan(0.01);
    expect(Math.abs(sumSquares / count - 1)).toBeLessThan(0.02);
    // P(|z| > 2) = 0.0455
    expect(Math.abs(beyond2 / count - 0.0455)).toBeLessThan(0.003);
  });

  it('rejects seeds that are not safe integers', () => {
    expect(() => createRng(1.5)).toThrow(RangeError);
    expect(() => createRng(Number.NaN)).toThrow(RangeError);
    expect(() => createRng(2 ** 60)).toThrow(RangeError);
  });
});
