/** Problems on which the gradient norm stalls far above 1e-10 at x* in floating point (see settled.ts). */
import { createRng } from '../../src/problem/random.js';
import { leverageScores, type Problem } from '../../src/solver/index.js';

export type Kind = 'near-walls' | 'cauchy-rows';

/**
 * A and x* drawn from `rows` (x* standard normal), slacks s* = A x* - b uniform in `slacks`, all positive
 * (the solver's default cell), sigma = sigma(x*).
 */
export function makeProblem(
  n: number,
  d: number,
  seed: number,
  rows: 'normal' | 'cauchy',
  slacks: [number, number],
): { problem: Problem; xStar: Float64Array } {
  const rng = createRng(seed);
  const A = new Float64Array(n * d);
  for (let k = 0; k < A.length; k++) {
    A[k] = rows === 'normal' ? rng.normal() : Math.tan(Math.PI * (rng.next() - 0.5));
  }
  const xStar = new Float64Array(d).map(() => rng.normal());
  const b = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let j = 0; j < d; j++) v += A[i * d + j] * xStar[j];
    b[i] = v - rng.uniform(slacks[0], slacks[1]);
  }
  const problem: Problem = { n, d, A, b, sigma: new Float64Array(n) };
  problem.sigma = leverageScores(problem, xStar);
  return { problem, xStar };
}

/**
 * Two kinds. near-walls: n = 2000, d = 10, A normal, slacks in [1e-4, 1e-2].
 * cauchy-rows: n = 5000, d = 12, A standard Cauchy (heavy-tailed rows), slacks in [0.5, 1.5].
 */
export const issueProblem = (kind: Kind, seed: number) =>
  kind === 'near-walls'
    ? makeProblem(2000, 10, seed, 'normal', [1e-4, 1e-2])
    : makeProblem(5000, 12, seed, 'cauchy', [0.5, 1.5]);
