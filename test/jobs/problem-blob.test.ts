/** The stored forms: the binary problem blob, compact iterate records, the duration histogram. */
import { describe, expect, it } from 'vitest';
import { bucketField, toHistogram } from '../../src/jobs/histogram.js';
import { decodeProblem, encodeProblem, toAlignedArrayBuffer } from '../../src/jobs/problem-blob.js';
import { decodeIterate, encodeIterate } from '../../src/jobs/records.js';
import { SOLVE_SECONDS_BUCKETS as SOLVE_SECONDS_BOUNDS } from '../../src/limits/job-limits.js';
import type { Problem } from '../../src/solver/index.js';

const base = (): Problem => ({
  n: 3,
  d: 2,
  A: Float64Array.from([1, 2, 3, 4, 5, -6.25]),
  b: Float64Array.from([0.1, 0.2, 1e-300]),
  sigma: Float64Array.from([0.5, 0.75, 0.75]),
});

/** A Buffer at an odd offset of a larger one, as a socket read may deliver it. */
function misaligned(blob: Buffer): Buffer {
  const big = Buffer.alloc(blob.length + 3);
  blob.copy(big, 3);
  return big.subarray(3);
}

describe('problem blob', () => {
  it('round-trips the required arrays exactly', () => {
    const problem = base();
    const blob = encodeProblem(problem);
    expect(blob.length).toBe(8 * (8 + 6 + 3 + 3));
    expect(decodeProblem(toAlignedArrayBuffer(misaligned(blob)))).toEqual({ problem });
  });

  it('round-trips signs, x0, per-row regularization and xStar', () => {
    const problem: Problem = {
      ...base(),
      signs: Int8Array.from([1, -1, 1]),
      x0: Float64Array.from([0.5, -0.5]),
      regularization: Float64Array.from([0, 1, 2]),
    };
    const xStar = Float64Array.from([Math.PI, -Math.E]);
    const blob = encodeProblem(problem, xStar);
    expect(blob.length).toBe(8 * (8 + 6 + 3 + 3 + 2 + 3 + 2) + 3);
    expect(decodeProblem(toAlignedArrayBuffer(blob))).toEqual({ problem, xStar });
  });

  it('keeps a single regularization weight a number', () => {
    const problem: Problem = { ...base(), regularization: 0.25 };
    expect(decodeProblem(toAlignedArrayBuffer(encodeProblem(problem))).problem.regularization).toBe(0.25);
  });

  it('rejects wrong lengths and damaged blobs', () => {
    expect(() => encodeProblem({ ...base(), b: new Float64Array(2) })).toThrow(/b has length 2, expected 3/);
    expect(() => encodeProblem(base(), new Float64Array(3))).toThrow(/xStar/);
    const blob = encodeProblem(base());
    expect(() => decodeProblem(toAlignedArrayBuffer(blob.subarray(0, blob.length - 8)))).toThrow(/bytes/);
    expect(() => decodeProblem(new ArrayBuffer(16))).toThrow(/header/);
  });
});

describe('iterate records', () => {
  it('round-trips iterates exactly, with or without x', () => {
    const it1 = { iteration: 3, loss: 0.1 + 0.2, gradNorm: 1e-17, step: 0.5, shift: 0, x: [1 / 3, -2e-8] };
    expect(decodeIterate(encodeIterate(it1, true))).toEqual(it1);
    const { x: _x, ...withoutX } = it1;
    expect(decodeIterate(encodeIterate(it1, false))).toEqual(withoutX);
    expect(encodeIterate(it1, false)).toBe('[3,0.30000000000000004,1e-17,0.5,0]');
  });
});

describe('solve-time histogram', () => {
  it('counts each solve in the first bucket that holds it, cumulatively', () => {
    expect(bucketField(0.003)).toBe('le:0.01');
    expect(bucketField(1)).toBe('le:1');
    expect(bucketField(1e6)).toBe('le:+Inf');
    const h = toHistogram({ 'le:0.01': '2', 'le:1': '1', 'le:+Inf': '1', count: '4', sum: '1000.5' });
    expect(h.bounds).toEqual([...SOLVE_SECONDS_BOUNDS, Number.POSITIVE_INFINITY]);
    expect(h.counts[0]).toBe(2);
    expect(h.counts[SOLVE_SECONDS_BOUNDS.indexOf(1)]).toBe(3);
    expect(h.counts.at(-1)).toBe(4);
    expect(h).toMatchObject({ count: 4, sum: 1000.5 });
    expect(toHistogram({}).counts.every((c) => c === 0)).toBe(true);
  });
});
