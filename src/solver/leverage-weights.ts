/**
 * Row weights with given leverage scores: w > 0 with sigma_i(w) = w_i a_i^T (A^T W A)^-1 a_i = sigma_i.
 * sigma(x) depends on x only through w_i = 1 / s_i(x)^2, so these weights are the first half of finding x
 * without knowing its cell (docs/MATH.md, "The global start").
 *
 * With w = e^v they minimise the convex F(v) = log det(A^T diag(e^v) A) - sigma^T v, whose gradient is
 * sigma(e^v) - sigma; F is unchanged along v + c 1 when sum(sigma) = d, so v is kept at mean 0. Each pass
 * costs one thin QR of diag(sqrt w) A, O(n d^2): it gives sigma(w) (row norms of Q) and F (log det from R).
 *
 * First the multiplicative step, v <- v + log(sigma / sigma(w)), Anderson-accelerated (12 to 50 passes on
 * most problems; an accelerated step that does not lower F is replaced by the plain one, which always
 * does). Where that is slow (heavy-tailed rows, slacks spread over e^-4 .. e^4: rows whose score is near 1
 * barely move under it), a truncated Newton method takes over (docs/MATH.md, "Newton on the weights"): the
 * Hessian diag(sigma(w)) - P o P is applied in O(n d^2) without P (P o P u = (u_i^T (Q^T diag(u) Q) u_i)_i,
 * Q the thin factor), conjugate gradients preconditioned by its diagonal sigma(w)(1 - sigma(w)) solve for
 * the step, and a backtracking line search on F keeps every step a descent.
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
  /** multiplicative passes before Newton takes over, if the tolerance is not met by then; default 40 */
  newtonAfter?: number;
}

/**
 * F and sigma(w) at v (w = e^v): one thin QR, in `scaled` (n x d, the kernels' memory, overwritten: one
 * buffer for every pass spares allocating and first-touching 8 n d bytes a pass).
 */
/** What every pass works on: the rows, the target scores, the kernels and the stop. */
interface WeightsProblem {
  A: Float64Array;
  n: number;
  d: number;
  sigma: Float64Array;
  kernels: Kernels;
  stop: Stopper;
}

function evaluate(
  { A, n, d, sigma, kernels, stop }: WeightsProblem,
  v: Float64Array,
  scaled: Float64Array,
): { f: number; lev: Float64Array; q: Float64Array } {
  for (let i = 0, o = 0; i < n; i++, o += d) {
    const f = Math.exp(v[i] / 2);
    for (let j = o; j < o + d; j++) scaled[j] = A[j] * f;
  }
  const { u, r } = kernels.thinQr(scaled, n, d, stop, scaled);
  let logDet = 0;
  for (let j = 0; j < d; j++) logDet += 2 * Math.log(Math.abs(r[j * d + j]));
  let linear = 0;
  for (let i = 0; i < n; i++) linear += sigma[i] * v[i];
  return { f: logDet - linear, lev: kernels.rowSquares(u, n, d), q: u };
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
  const newtonAfter = options.newtonAfter ?? 40;
  const problem: WeightsProblem = { A, n, d, sigma, kernels, stop };
  const scaled = kernels.alloc(n * d);
  const fitScratch = kernels.alloc(n * memory);
  let v: Float64Array = new Float64Array(n);
  let { f, lev, q } = evaluate(problem, v, scaled);
  // past iterates and their fixed-point residuals g = log(sigma / sigma(w)), newest last
  let pastV: Float64Array[] = [];
  let pastG: Float64Array[] = [];
  let passes = 0;
  let relResidual = Number.POSITIVE_INFINITY;
  for (; passes < Math.min(maxPasses, newtonAfter); passes++) {
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
    let next = accelerated ? evaluate(problem, accelerated, scaled) : undefined;
    let nextV = accelerated;
    // F is a sum of n terms: a rise within its rounding is no rise (rejecting those stalled the iteration)
    if (!next || !(next.f <= f + 1e-11 * (1 + Math.abs(f)))) {
      // the plain step lowers F: a rejected acceleration restarts the history from it
      if (accelerated) {
        pastV = [];
        pastG = [];
      }
      nextV = plain;
      next = evaluate(problem, plain, scaled);
    }
    v = nextV as Float64Array;
    f = next.f;
    lev = next.lev;
    q = next.q;
  }
  if (passes < maxPasses && relResidual > tolerance) {
    return newtonWeights(problem, { v, f, lev, q }, passes, tolerance, maxPasses);
  }
  return { w: v.map(Math.exp), passes, relResidual };
}

function maxAbs(x: Float64Array): number {
  let big = 0;
  for (let i = 0; i < x.length; i++) big = Math.max(big, Math.abs(x[i]));
  return big;
}

function maxRelError(lev: Float64Array, sigma: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < lev.length; i++) worst = Math.max(worst, Math.abs(lev[i] - sigma[i]) / sigma[i]);
  return worst;
}

/** The step of one Newton iteration may change no log weight by more than this (e^8 ~ 3000 times). */
const MAX_LOG_STEP = 8;
/** conjugate-gradient iterations per Newton step at most */
const MAX_CG = 100;
/** Newton steps in a row that do not halve the best score error before it is taken to be at rounding level */
const STALL_STEPS = 4;

/**
 * Truncated Newton on F from `at` (its Q factor in `at.q`, kernels' memory). Counts a pass per F
 * evaluation (one QR) and per Hessian product (two O(n d^2) kernel calls, about as dear); returns the best
 * weights seen. Stops at the tolerance, at maxPasses, or when STALL_STEPS steps in a row fail to halve the
 * best score error (the scores are then as close as rounding lets them be).
 */
function newtonWeights(
  problem: WeightsProblem,
  at: { v: Float64Array; f: number; lev: Float64Array; q: Float64Array },
  passesSoFar: number,
  tolerance: number,
  maxPasses: number,
): WeightsResult {
  const { n, d, sigma, kernels, stop } = problem;
  let { v, f, lev, q } = at;
  // the current point's Q stays in `q` while trial points are factored into `trial`; swapped on acceptance
  let trial = kernels.alloc(n * d);
  let passes = passesSoFar;
  let relResidual = maxRelError(lev, sigma);
  let best = { v, relResidual };
  let stalled = 0;
  const u = kernels.alloc(n);
  const hessianTimes = (x: Float64Array): Float64Array => {
    u.set(x);
    // Q^T diag(u) Q, both triangles filled by the kernels
    const M = kernels.weightedGram(q, n, d, u, stop);
    const pp = kernels.quadForms(q, n, d, M, stop);
    for (let i = 0; i < n; i++) pp[i] = lev[i] * x[i] - pp[i];
    return pp;
  };
  while (passes < maxPasses && relResidual > tolerance && stalled < STALL_STEPS) {
    const g = new Float64Array(n);
    let gNorm = 0;
    for (let i = 0; i < n; i++) {
      g[i] = lev[i] - sigma[i];
      gNorm += g[i] * g[i];
    }
    gNorm = Math.sqrt(gNorm);
    const { p, products } = conjugateGradients(
      hessianTimes,
      g,
      lev,
      gNorm,
      Math.min(MAX_CG, maxPasses - passes),
    );
    passes += products;
    centred(p);
    if (!(maxAbs(p) > 0)) {
      // no Newton direction: the plain multiplicative step (a descent direction for F)
      for (let i = 0; i < n; i++) p[i] = Math.log(sigma[i] / lev[i]);
      centred(p);
    }
    const big = maxAbs(p);
    if (big > MAX_LOG_STEP) for (let i = 0; i < n; i++) p[i] *= MAX_LOG_STEP / big;
    let slope = 0;
    for (let i = 0; i < n; i++) slope += g[i] * p[i];
    // Armijo backtracking; F is a sum of n terms, so a rise within its rounding is no rise
    let t = 1;
    let accepted: { v: Float64Array; f: number; lev: Float64Array; q: Float64Array } | undefined;
    while (passes < maxPasses && t > 1e-10) {
      const vt = centred(v.map((vi, i) => vi + t * p[i]));
      const next = evaluate(problem, vt, trial);
      passes++;
      if (next.f <= f + 1e-4 * t * slope + 1e-11 * (1 + Math.abs(f))) {
        accepted = { v: vt, ...next };
        break;
      }
      t /= 2;
    }
    if (!accepted) break;
    // the factor just made is the current one now; the old one's buffer takes the next trial
    trial = q;
    ({ v, f, lev, q } = accepted);
    relResidual = maxRelError(lev, sigma);
    if (relResidual < best.relResidual) {
      stalled = relResidual < 0.5 * best.relResidual ? 0 : stalled + 1;
      best = { v, relResidual };
    } else {
      stalled++;
    }
  }
  return { w: best.v.map(Math.exp), passes, relResidual: best.relResidual };
}

/**
 * Preconditioned conjugate gradients for H p = -g (H positive semidefinite, its null direction the ones
 * vector, orthogonal to g), preconditioned by H's diagonal lev (1 - lev); to the inexact-Newton forcing
 * tolerance min(0.5, sqrt |g|) |g|. Stops early at a direction of no curvature.
 */
function conjugateGradients(
  hessianTimes: (x: Float64Array) => Float64Array,
  g: Float64Array,
  lev: Float64Array,
  gNorm: number,
  maxIterations: number,
): { p: Float64Array; products: number } {
  const n = g.length;
  const p = new Float64Array(n);
  const r = g.map((gi) => -gi);
  const diag = lev.map((l) => Math.max(l * (1 - l), 1e-300));
  const z = r.map((ri, i) => ri / diag[i]);
  const dir = Float64Array.from(z);
  let rz = 0;
  for (let i = 0; i < n; i++) rz += r[i] * z[i];
  const target = Math.min(0.5, Math.sqrt(gNorm)) * gNorm;
  let products = 0;
  while (products < maxIterations) {
    const hd = hessianTimes(dir);
    products++;
    let curvature = 0;
    for (let i = 0; i < n; i++) curvature += dir[i] * hd[i];
    if (!(curvature > 0)) break;
    const a = rz / curvature;
    let rNorm = 0;
    for (let i = 0; i < n; i++) {
      p[i] += a * dir[i];
      r[i] -= a * hd[i];
      rNorm += r[i] * r[i];
    }
    if (Math.sqrt(rNorm) <= target) break;
    let rzNext = 0;
    for (let i = 0; i < n; i++) {
      z[i] = r[i] / diag[i];
      rzNext += r[i] * z[i];
    }
    const beta = rzNext / rz;
    rz = rzNext;
    for (let i = 0; i < n; i++) dir[i] = z[i] + beta * dir[i];
  }
  return { p, products };
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
