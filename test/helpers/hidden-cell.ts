/**
 * Problems whose cell is hidden from the solver: mixed signs, heavy-tailed rows, slacks near the walls,
 * b = 0, noisy targets. The answer xStar and its signs are kept for the checks, never given to the solver.
 */
import { createRng } from '../../src/problem/random.js';
import { leverageScores, type Problem } from '../../src/solver/index.js';

export interface HiddenCellOptions {
  n: number;
  d: number;
  seed: number;
  /** fraction of rows whose slack at xStar is negative (default 0.3) */
  negative?: number;
  /** how rows are drawn (default normal) */
  rows?: 'normal' | 't3' | 'cauchy';
  /** slack sizes: uniform in [0.5, 1.5] (default), log-uniform down to 1e-3 of the largest, or e^-4 .. e^4 */
  slacks?: 'uniform' | 'near-wall' | 'spread';
  /** b = 0: slacks are A xStar, signs as they fall */
  homogeneous?: boolean;
  /** relative noise on each target score */
  noise?: number;
}

export function hiddenCellProblem(o: HiddenCellOptions): {
  problem: Problem;
  xStar: Float64Array;
  signs: Int8Array;
} {
  const rng = createRng(o.seed);
  const { n, d } = o;
  const draw = (): number => {
    if (o.rows === 't3') {
      let chi = 0;
      for (let k = 0; k < 3; k++) chi += rng.normal() ** 2;
      return rng.normal() / Math.sqrt(chi / 3);
    }
    if (o.rows === 'cauchy') return rng.normal() / rng.normal();
    return rng.normal();
  };
  const A = new Float64Array(n * d).map(draw);
  const xStar = new Float64Array(d).map(() => rng.normal());
  const b = new Float64Array(n);
  const signs = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let j = 0; j < d; j++) v += A[i * d + j] * xStar[j];
    if (o.homogeneous) {
      signs[i] = v < 0 ? -1 : 1;
      continue;
    }
    signs[i] = rng.next() < (o.negative ?? 0.3) ? -1 : 1;
    const size =
      o.slacks === 'near-wall'
        ? Math.exp(rng.uniform(Math.log(1e-3), 0))
        : o.slacks === 'spread'
          ? Math.exp(rng.uniform(-4, 4))
          : rng.uniform(0.5, 1.5);
    b[i] = v - signs[i] * size;
  }
  const problem: Problem = { n, d, A, b, sigma: new Float64Array(n) };
  const exact = leverageScores(problem, xStar);
  problem.sigma = o.noise ? exact.map((s) => Math.min(1, s * (1 + o.noise! * rng.normal()))) : exact;
  return { problem, xStar, signs };
}

export function relativeError(x: ArrayLike<number>, xStar: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let j = 0; j < xStar.length; j++) {
    num += (x[j] - xStar[j]) ** 2;
    den += xStar[j] ** 2;
  }
  return Math.sqrt(num / den);
}
