/**
 * Row weights with given leverage scores: w > 0 with sigma_i(w) = w_i a_i^T (A^T W A)^-1 a_i = sigma_i.
 * sigma(x) depends on x only through w_i = 1 / s_i(x)^2, so these weights are the first half of finding x
 * without knowing its cell (docs/MATH.md, "The global start").
 *
 * With w = e^v they minimise the convex F(v) = log det(A^T diag(e^v) A) - sigma^T v, whose gradient is
 * sigma(e^v) - sigma; F is unchanged along v + c 1 when sum(sigma) = d, so v is kept at mean 0. Each pass
 * costs one thin QR of diag(sqrt w) A, O(n d^2): it gives sigma(w) (row norms of Q) and F (log det from R).
 * The step is the multiplicative one, v <- v + log(sigma / sigma(w)) (12 to 50 passes on most problems),
 * Anderson-accelerated: it converged in 118 to 233 passes on Cauchy rows where the plain step had not
 * after 1000 (a numpy prototype). An accelerated step that does not lower F is replaced by the plain one,
 * which always does, so the iteration cannot diverge.
 */
import type { Kernels } from './kernels.js';
import type { Stopper } from './stop.js';
import { diagonalRatio, solveUpper } from './triangular.js';

export interface WeightsResult {
  /** the weights, mean log 0 */
  w: Float64Array;
  passes: number;
  /** max_i |sigma_i(w) - sigma_i| / sigma_i at the end */
  relResidual: number;
}

export interface WeightsOptions {
  /** stop when every score is within this relative error; default 1e-13 */
  tolerance?: number;
  /** default 1000: past it the weights are close enough for Newton to finish from the start they give */
  maxPasses?: number;
  /** how many past passes the acceleration combines; default 8 */
  memory?: number;
}

/**
 * F and sigma(w) at v (w = e^v): one thin QR, in `scaled` (n x d, the kernels' memory, overwritten: one
 * buffer for every pass spares allocating and first-touching 8 n d bytes a pass).
 */
function evaluate(
  A: Float64Array,
  n: number,
  d: number,
  v: Float64Array,
  sigma: Float64Array,
  kernels: Kernels,
  stop: Stopper,
  scaled: Float64Array,
): { f: number; lev: Float64Array } {
  for (let i = 0, o = 0; i < n; i++, o += d) {
    const f = Math.exp(v[i] / 2);
    for (let j = o; j < o + d; j++) scaled[j] = A[j] * f;
  }
  const { u, r } = kernels.thinQr(scaled, n, d, stop, scaled);
  let logDet = 0;
  for (let j = 0; j < d; j++) logDet += 2 * Math.log(Math.abs(r[j * d + j]));
  let linear = 0;
  for (let i = 0; i < n; i++) linear += sigma[i] * v[i];
  return { f: logDet - linear, lev: kernels.rowSquares(u, n, d) };
}

function centred(v: Float64Array): Float64Array {
  let mean = 0;
  for (let i = 0; i < v.length; i++) mean += v[i];
  mean /= v.length;
  for (let i = 0; i < v.length; i++) v[i] -= mean;
  return v;
}

/**
 * Assumes every sigma_i in (0, 1] and sum(sigma) = d (the caller rescales noisy targets), A of full column
 * rank. Returns the best weights reached when the tolerance is not met within maxPasses.
 */
export function leverageWeights(
  A: Float64Array,
  n: number,
  d: number,
  sigma: Float64Array,
  kernels: Kernels,
  stop: Stopper,
  options: WeightsOptions = {},
): WeightsResult {
  const tolerance = options.tolerance ?? 1e-13;
  const maxPasses = options.maxPasses ?? 1000;
  const memory = options.memory ?? 8;
  const scaled = kernels.alloc(n * d);
  const fitScratch = kernels.alloc(n * memory);
  let v: Float64Array = new Float64Array(n);
  let { f, lev } = evaluate(A, n, d, v, sigma, kernels, stop, scaled);
  // past iterates and their fixed-point residuals g = log(sigma / sigma(w)), newest last
  let pastV: Float64Array[] = [];
  let pastG: Float64Array[] = [];
  let passes = 0;
  let relResidual = Number.POSITIVE_INFINITY;
  for (; passes < maxPasses; passes++) {
    const g = new Float64Array(n);
    relResidual = 0;
    for (let i = 0; i < n; i++) {
      g[i] = Math.log(sigma[i] / lev[i]);
      relResidual = Math.max(relResidual, Math.abs(lev[i] - sigma[i]) / sigma[i]);
    }
    if (!(relResidual > tolerance)) break;
    pastV.push(v);
    pastG.push(g);
    if (pastG.length > memory + 1) {
      pastV = pastV.slice(-memory - 1);
      pastG = pastG.slice(-memory - 1);
    }
    const plain = centred(v.map((vi, i) => vi + g[i]));
    const accelerated =
      pastG.length > 1 ? anderson(v, g, pastV, pastG, kernels, stop, fitScratch) : undefined;
    let next = accelerated ? evaluate(A, n, d, accelerated, sigma, kernels, stop, scaled) : undefined;
    let nextV = accelerated;
    // F is a sum of n terms: a rise within its rounding is no rise (rejecting those stalled the iteration)
    if (!next || !(next.f <= f + 1e-11 * (1 + Math.abs(f)))) {
      // the plain step lowers F: a rejected acceleration restarts the history from it
      if (accelerated) {
        pastV = [];
        pastG = [];
      }
      nextV = plain;
      next = evaluate(A, n, d, plain, sigma, kernels, stop, scaled);
    }
    v = nextV as Float64Array;
    f = next.f;
    lev = next.lev;
  }
  return { w: v.map(Math.exp), passes, relResidual };
}

/**
 * Anderson's type-II step: v + g - (dV + dG) gamma with gamma the least-squares fit of g by the differences
 * dG of past residuals (dV of past iterates), by QR (the normal equations square an often poor conditioning
 * and stalled the iteration); undefined when that fit is not well posed. The QR is the kernels' (dG
 * row-major n x m in `scratch`, at least n m long, overwritten), like the passes' own.
 */
function anderson(
  v: Float64Array,
  g: Float64Array,
  pastV: Float64Array[],
  pastG: Float64Array[],
  kernels: Kernels,
  stop: Stopper,
  scratch: Float64Array,
): Float64Array | undefined {
  const m = pastG.length - 1;
  const n = v.length;
  if (n < m) return undefined;
  const dG = scratch.subarray(0, n * m); // row-major
  for (let k = 0; k < m; k++) {
    const later = pastG[k + 1];
    const earlier = pastG[k];
    for (let i = 0; i < n; i++) dG[i * m + k] = later[i] - earlier[i];
  }
  // dG is overwritten by Q: the correction below takes dG again from the past residuals
  const { u: q, r } = kernels.thinQr(dG, n, m, stop, dG);
  if (!(diagonalRatio(r, m) > 1e-12)) return undefined;
  const gamma = solveUpper(r, m, kernels.combineRows(q, n, m, g));
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = v[i] + g[i];
  for (let k = 0; k < m; k++) {
    const c = gamma[k];
    const later = pastV[k + 1];
    const earlier = pastV[k];
    const laterG = pastG[k + 1];
    const earlierG = pastG[k];
    for (let i = 0; i < n; i++) out[i] -= (later[i] - earlier[i] + laterG[i] - earlierG[i]) * c;
  }
  for (let i = 0; i < n; i++) if (!Number.isFinite(out[i])) return undefined;
  return centred(out);
}
