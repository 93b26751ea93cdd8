/**
 * The default start point (start-point.ts, feasible-point.ts, centring.ts): the analytic centre must be
 * the one a plain damped Newton with a fresh QR least-squares step at every iteration converges to (the
 * algorithm before the chord steps, kept here as the reference), whichever kernels and QR path run.
 */
import { describe, expect, it } from 'vitest';
import { centre } from '../../src/solver/centring.js';
import { feasiblePoint } from '../../src/solver/feasible-point.js';
import { HouseholderQr, toColumnMajor } from '../../src/solver/householder-qr.js';
import { findStart, type Problem, SolverError } from '../../src/solver/index.js';
import { type Kernels, kernelsNamed } from '../../src/solver/kernels.js';
import { jsKernels } from '../../src/solver/kernels-js.js';
import { normalisedCell } from '../../src/solver/start-cell.js';
import { analyticCentre } from '../../src/solver/start-point.js';
import { NO_STOP } from '../../src/solver/stop.js';
import { randomProblem } from '../helpers/random-problem.js';
import { relErr } from '../helpers/testdata.js';

function wasmKernels(): Kernels {
  const k = kernelsNamed('wasm');
  if (!k) throw new Error('the WebAssembly kernels did not load (npm run build first)');
  return k;
}
const KERNELS: [string, () => Kernels][] = [
  ['wasm', wasmKernels],
  ['js', () => jsKernels],
];

/** Slacks of the cell (signs applied), unscaled rows. */
function signedSlacks(problem: Problem, x: Float64Array): Float64Array {
  const { n, d, A, b, signs } = problem;
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v = -b[i];
    for (let j = 0; j < d; j++) v += A[i * d + j] * x[j];
    s[i] = (signs ? signs[i] : 1) * v;
  }
  return s;
}

/** The Newton step p and decrement lambda of -sum log s at x, by QR of diag(1/s) A_signed. */
function newtonStep(problem: Problem, x: Float64Array): { p: Float64Array; lambda: number } {
  const { n, d, A, signs } = problem;
  const s = signedSlacks(problem, x);
  const inv = s.map((v, i) => (signs ? signs[i] : 1) / v);
  const qr = new HouseholderQr(toColumnMajor(A, n, d, inv), n, d);
  const p = qr.solveLeastSquares(new Float64Array(n).fill(1));
  let lambda2 = 0;
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let j = 0; j < d; j++) v += A[i * d + j] * p[j];
    lambda2 += v * inv[i];
  }
  return { p, lambda: Math.sqrt(Math.max(lambda2, 0)) };
}

/** Reference centre: damped Newton with a QR every step, from a strictly feasible x (the old phase II). */
function referenceCentre(problem: Problem, from: Float64Array): Float64Array {
  const x = Float64Array.from(from);
  let previous = Infinity;
  for (let iteration = 0; iteration < 500; iteration++) {
    const { p, lambda } = newtonStep(problem, x);
    if (lambda < 1e-13 || (lambda < 1e-7 && lambda >= previous)) return x;
    previous = lambda;
    let alpha = lambda > 0.25 ? 1 / (1 + lambda) : 1;
    for (let h = 0; h < 60; h++, alpha /= 2) {
      const trial = x.map((v, j) => v + alpha * p[j]);
      if (signedSlacks(problem, trial).every((v) => v > 0)) {
        x.set(trial);
        break;
      }
    }
  }
  throw new Error('the reference did not converge');
}

// [n, d, share of negative slacks, seed]: n d >= 16384 runs the wasm QR and its chord rule
const CASES: [number, number, number, number][] = [
  [12, 3, 0, 5],
  [60, 4, 0, 41],
  [200, 8, 0, 1],
  [200, 8, 0.3, 2],
  [50, 5, 0.5, 3],
  [400, 12, 0.3, 6],
  [2000, 10, 0.3, 4],
  [3000, 6, 0, 7],
];

describe('analyticCentre', () => {
  describe.each(KERNELS)('%s kernels', (_name, kernels) => {
    it.each(CASES)(
      'n = %i, d = %i, negative share %d (seed %i): the reference centre to 1e-10',
      (n, d, neg, seed) => {
        const { problem, xStar } = randomProblem({ n, d, seed, negative: neg });
        const ours = analyticCentre(problem, NO_STOP, kernels());
        expect(relErr(ours, referenceCentre(problem, xStar))).toBeLessThan(1e-10);
        // and it is stationary: the Newton decrement (by a fresh QR) is at rounding level
        expect(newtonStep(problem, ours).lambda).toBeLessThan(1e-10);
      },
    );
  });

  it('the two kernels give the same centre to 1e-12', () => {
    for (const [n, d, neg, seed] of CASES) {
      const { problem } = randomProblem({ n, d, seed, negative: neg });
      const w = analyticCentre(problem, NO_STOP, wasmKernels());
      const j = analyticCentre(problem, NO_STOP, jsKernels);
      expect(relErr(w, j)).toBeLessThan(1e-12);
    }
  });

  it('x0 without signs names the same cell: the same centre, bit for bit', () => {
    const { problem, near } = randomProblem({ n: 300, d: 6, seed: 9, negative: 0.4 });
    const bySigns = findStart(problem);
    const byX0 = findStart({ ...problem, signs: undefined, x0: near });
    expect(byX0).toEqual(bySigns);
  });

  it('when x = 0 is inside the cell phase I returns it, and the centre is the reference one', () => {
    // b_i = -signs_i u_i: every slack at 0 has the cell's sign
    const { problem } = randomProblem({ n: 150, d: 5, seed: 12, negative: 0.3 });
    const b = problem.b.map((_, i) => -problem.signs![i] * (0.5 + ((i * 7) % 10) / 10));
    const atZero: Problem = { ...problem, b };
    const cell = normalisedCell(atZero, NO_STOP);
    const start = feasiblePoint(cell, wasmKernels());
    expect(Array.from(start.x)).toEqual([0, 0, 0, 0, 0]);
    const zero = new Float64Array(5);
    expect(relErr(findStart(atZero), referenceCentre(atZero, zero))).toBeLessThan(1e-10);
  });

  it('phase I returns a strictly feasible point with its exact slacks', () => {
    for (const [n, d, neg, seed] of CASES) {
      const { problem } = randomProblem({ n, d, seed, negative: neg });
      const cell = normalisedCell(problem, NO_STOP);
      const { x, s } = feasiblePoint(cell, wasmKernels());
      for (let i = 0; i < n; i++) {
        let v = -cell.offsets[i];
        for (let j = 0; j < d; j++) v += cell.rows[i * d + j] * x[j];
        expect(s[i]).toBeCloseTo(v, 12);
        expect(s[i]).toBeGreaterThan(0);
      }
      // and phase II from it is the analytic centre
      const c = centre(cell, { x, s }, wasmKernels());
      expect(newtonStep(problem, c).lambda).toBeLessThan(1e-10);
    }
  });

  it('a zero row whose constant slack has the right sign changes nothing', () => {
    // the triangle x > 0, y > 0, x + y < 2 (centre (2/3, 2/3)), plus 0 x > -1
    const triangle: Problem = {
      n: 4,
      d: 2,
      A: Float64Array.from([1, 0, 0, 1, -1, -1, 0, 0]),
      b: Float64Array.from([0, 0, -2, -1]),
      sigma: new Float64Array(4).fill(0.5),
    };
    const x = findStart(triangle);
    expect(relErr(x, Float64Array.from([2 / 3, 2 / 3]))).toBeLessThan(1e-14);
    // the same row asked to be negative: empty
    expect(() => findStart({ ...triangle, signs: Int8Array.from([1, 1, 1, -1]) })).toThrow(
      'the cell is empty: row 3 of A is zero, so its slack is always 1, never of sign -1',
    );
  });

  it('rows scaled by 1e150 or 1e-150 (sums of squares out of range) give the same centre', () => {
    const { problem } = randomProblem({ n: 100, d: 4, seed: 21, negative: 0.2 });
    const base = findStart(problem);
    for (const f of [1e150, 1e-150]) {
      const scaled = { ...problem, A: problem.A.map((v) => v * f), b: problem.b.map((v) => v * f) };
      expect(relErr(findStart(scaled), base)).toBeLessThan(1e-12);
    }
  });
});

describe('cells without a centre', () => {
  const caught = (f: () => unknown): SolverError => {
    try {
      f();
    } catch (error) {
      if (error instanceof SolverError) return error;
      throw error;
    }
    throw new Error('expected a SolverError');
  };

  it('an empty cell among many rows: EMPTY_CELL from the phase I bound', () => {
    // a bounded random cell around x*, plus x_1 > x*_1 + 1 and x_1 < x*_1 - 1: empty
    const { problem, xStar } = randomProblem({ n: 200, d: 5, seed: 31 });
    const { n, d } = problem;
    const A = new Float64Array((n + 2) * d);
    A.set(problem.A);
    A[n * d] = 1;
    A[(n + 1) * d] = -1;
    const b = Float64Array.from([...problem.b, xStar[0] + 1, -(xStar[0] - 1)]);
    const signs = Int8Array.from([...problem.signs!, 1, 1]);
    const empty: Problem = { n: n + 2, d, A, b, sigma: new Float64Array(n + 2), signs };
    const error = caught(() => findStart(empty));
    expect(error.code).toBe('EMPTY_CELL');
    expect(error.message).toMatch(
      /^the cell is empty: no x has slacks of the requested signs \(phase I bound/,
    );
  });

  it('a thin but non-empty slab is found (no false EMPTY_CELL)', () => {
    // x_1 between x*_1 + 1 and x*_1 + 1.001, inside a bounded random cell that contains x* (b shifted)
    const { problem, xStar } = randomProblem({ n: 200, d: 5, seed: 32 });
    const { n, d } = problem;
    const A = new Float64Array((n + 2) * d);
    A.set(problem.A);
    A[n * d] = 1;
    A[(n + 1) * d] = -1;
    // widen the random cell so that it contains the slab: every slack at x* gets +10
    const wide = problem.b.map((v, i) => v - problem.signs![i] * 10);
    const b = Float64Array.from([...wide, xStar[0] + 1, -(xStar[0] + 1.001)]);
    const signs = Int8Array.from([...problem.signs!, 1, 1]);
    const slab: Problem = { n: n + 2, d, A, b, sigma: new Float64Array(n + 2), signs };
    const x = findStart(slab);
    expect(x[0]).toBeGreaterThan(xStar[0] + 1);
    expect(x[0]).toBeLessThan(xStar[0] + 1.001);
    expect(newtonStep(slab, x).lambda).toBeLessThan(1e-10);
  });

  it('a zero row whose constant slack has the wrong sign: EMPTY_CELL naming the row', () => {
    const { problem } = randomProblem({ n: 20, d: 3, seed: 33 });
    const A = Float64Array.from(problem.A);
    A.fill(0, 6, 9);
    const b = Float64Array.from(problem.b);
    b[2] = 1; // slack -1, but the sign asked for is +1
    const signs = Int8Array.from(problem.signs!);
    signs[2] = 1;
    const error = caught(() => findStart({ ...problem, A, b, signs }));
    expect(error.code).toBe('EMPTY_CELL');
    expect(error.message).toBe(
      'the cell is empty: row 2 of A is zero, so its slack is always -1, never of sign 1',
    );
  });

  it('an unbounded cell: UNBOUNDED_CELL', () => {
    // every row has a positive first entry and sign +1: x + t e_1 stays inside for every t > 0
    const { problem } = randomProblem({ n: 100, d: 4, seed: 34 });
    const A = Float64Array.from(problem.A);
    for (let i = 0; i < problem.n; i++) A[i * 4] = Math.abs(A[i * 4]) + 0.1;
    const error = caught(() => findStart({ ...problem, A, signs: undefined }));
    expect(error.code).toBe('UNBOUNDED_CELL');
    expect(error.message).toBe(
      'the cell is unbounded, so it has no analytic centre: give x0, or choose signs that close the cell',
    );
  });
});
