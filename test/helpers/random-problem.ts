/** Small random problems for derivative and error tests (independent of the generator under test). */
import { createRng } from '../../src/problem/random.js';
import { leverageScores, type Problem } from '../../src/solver/index.js';

export interface RandomProblemOptions {
  n: number;
  d: number;
  seed: number;
  /** fraction of rows whose slack at xStar is negative */
  negative?: number;
  regularization?: number | 'per-row';
}

/** A problem with sigma = sigma(xStar) plus a point `near` xStar in the same cell. */
export function randomProblem(o: RandomProblemOptions): {
  problem: Problem;
  xStar: Float64Array;
  near: Float64Array;
} {
  const rng = createRng(o.seed);
  const { n, d } = o;
  const A = new Float64Array(n * d).map(() => rng.normal());
  const xStar = new Float64Array(d).map(() => rng.normal());
  const b = new Float64Array(n);
  const signs = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    signs[i] = rng.next() < (o.negative ?? 0) ? -1 : 1;
    let v = 0;
    for (let j = 0; j < d; j++) v += A[i * d + j] * xStar[j];
    b[i] = v - signs[i] * rng.uniform(0.5, 1.5);
  }
  const problem: Problem = { n, d, A, b, sigma: new Float64Array(n), signs };
  problem.sigma = leverageScores(problem, xStar);
  if (o.regularization === 'per-row')
    problem.regularization = new Float64Array(n).map(() => rng.uniform(0, 0.3));
  else if (typeof o.regularization === 'number') problem.regularization = o.regularization;
  // A point a little away from xStar, so the residual (and every Hessian term) is non-zero.
  const near = xStar.map((v) => v + 0.02 * rng.normal());
  return { problem, xStar, near };
}
