/**
 * The weights with the target scores (src/solver/leverage-weights.ts; docs/MATH.md, "Step 1: weights with
 * the target scores" and "Newton on the weights"): checked against the generator's own weights
 * w_i = 1 / s_i(xStar)^2, up to their common factor.
 */
import { describe, expect, it } from 'vitest';
import { currentKernels } from '../../src/solver/kernels.js';
import { leverageWeights } from '../../src/solver/leverage-weights.js';
import { NO_STOP } from '../../src/solver/stop.js';
import { type HiddenCellOptions, hiddenCellProblem } from '../helpers/hidden-cell.js';

function setUp(options: HiddenCellOptions) {
  const { problem, xStar } = hiddenCellProblem(options);
  const { A, b, n, d, sigma } = problem;
  // the generator's weights, mean log 0 as the iteration keeps them
  const logW = new Float64Array(n);
  let mean = 0;
  for (let i = 0; i < n; i++) {
    let s = -b[i];
    for (let j = 0; j < d; j++) s += A[i * d + j] * xStar[j];
    logW[i] = -2 * Math.log(Math.abs(s));
    mean += logW[i] / n;
  }
  for (let i = 0; i < n; i++) logW[i] -= mean;
  return { A, n, d, sigma, logW };
}

/** max_i |log w_i - log w*_i|: the weights' relative error, near enough */
function logError(w: Float64Array, logW: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(Math.log(w[i]) - logW[i]));
  return worst;
}

describe('leverage weights', () => {
  it('Gaussian rows: the accelerated multiplicative step alone, in a few passes', () => {
    const { A, n, d, sigma, logW } = setUp({ n: 3000, d: 10, seed: 21 });
    const found = leverageWeights(A, n, d, sigma, currentKernels(), NO_STOP);
    expect(found.relResidual).toBeLessThanOrEqual(1e-13);
    expect(found.passes).toBeLessThan(40);
    expect(logError(found.w, logW)).toBeLessThan(1e-11);
  });

  it('Cauchy rows with slacks over e^-4 .. e^4: Newton takes over and gets there, the plain step does not', () => {
    const { A, n, d, sigma, logW } = setUp({ n: 4000, d: 12, seed: 22, rows: 'cauchy', slacks: 'spread' });
    const kernels = currentKernels();
    const withNewton = leverageWeights(A, n, d, sigma, kernels, NO_STOP);
    expect(withNewton.relResidual).toBeLessThan(1e-9);
    expect(logError(withNewton.w, logW)).toBeLessThan(1e-8);
    expect(withNewton.passes).toBeLessThan(1000);
    const withoutNewton = leverageWeights(A, n, d, sigma, kernels, NO_STOP, {
      newtonAfter: Number.POSITIVE_INFINITY,
    });
    // the accelerated multiplicative step alone needs its whole budget of 1000 passes here (Newton about 600)
    expect(withoutNewton.passes).toBeGreaterThan(withNewton.passes);
  });

  it('Newton from the first pass finds the same weights as the multiplicative step', () => {
    const { A, n, d, sigma, logW } = setUp({ n: 2000, d: 8, seed: 23, rows: 't3', negative: 0.5 });
    const found = leverageWeights(A, n, d, sigma, currentKernels(), NO_STOP, { newtonAfter: 0 });
    expect(found.relResidual).toBeLessThan(1e-10);
    expect(logError(found.w, logW)).toBeLessThan(1e-9);
  });
});
