/**
 * The loss L(x) = 1/2 ||sigma(x) - sigma||^2 + 1/2 ||diag(w) A x||^2, its gradient, the Jacobian of the
 * scores and the exact Hessian, as derived in docs/MATH.md, "Derivatives", and computed as in
 * docs/MATH.md, "The factored and direct paths".
 *
 * Two computation paths give the same numbers:
 * - `factored`: never forms an n x n array. With A_x = U T (thin QR) and y_i = u_i (x) u_i, every term
 *   is a product with Y (rows y_i), accumulated row by row; only the d(d+1)/2 distinct entries of y_i are
 *   used. Gradient O(n d^2), Hessian O(n d^3 + d^4), memory O(n d + d^3). C = Y^T A_x comes from the
 *   third moments of the rows of U (a fully symmetric tensor: d(d+1)(d+2)/6 products per row) times T.
 *   The row loops run in `kernels` (WebAssembly with SIMD, or the TypeScript reference: kernels.ts).
 * - `direct`: forms P = U U^T and the literal formulas, O(n^2 d) time and O(n^2) memory. Cheaper when
 *   n < d(d+1)/2, and an independent check of the factored path in the tests.
 */
import { currentKernels, type Kernels } from './kernels.js';
import { rowSquares, weightedGram } from './kernels-js.js';
import { NO_STOP, type Stopper } from './stop.js';
import type { Problem } from './types.js';

export type DerivativePath = 'factored' | 'direct';

/** Everything known at one x once the scores are computed. */
export interface Point {
  x: Float64Array;
  /** s = A x - b */
  s: Float64Array;
  /** A_x = diag(s)^-1 A, row-major n x d */
  ax: Float64Array;
  /** thin Q of A_x, row-major n x d */
  u: Float64Array;
  /** T, d x d upper triangular row-major, with A_x = U T */
  t: Float64Array;
  /** sigma(x) */
  lev: Float64Array;
  /** rho = sigma(x) - sigma */
  rho: Float64Array;
  loss: number;
  /**
   * The factored gradient's pieces once computed here (G = U^T R U, P2 rho, the score gradient): an
   * iteration asks for the gradient at a point and then for its Hessian, which needs them again.
   */
  scoreTerms?: { G: Float64Array; p2rho: Float64Array; gradient: Float64Array };
}

export interface Derivatives {
  gradient: Float64Array;
  /** exact Hessian, d x d row-major (when asked for) */
  hessian?: Float64Array;
  /** J = d sigma / d x = -2 (Sigma - P o P) A_x, n x d row-major (when asked for) */
  jacobian?: Float64Array;
}

/** The direct path's n x n arrays are bounded: beyond this many rows it is never used. */
export const DIRECT_MAX_ROWS = 2000;

/**
 * ns per unit of work of one gradient + exact Hessian on each path, fitted by bench/path-bench.ts
 * (least squares on relative error, median of 3 runs on the 2-core machine, 56 (n, d) points, d = 4 to 62):
 *   direct   ~ 3.7 n^3 + 15 n^2 d          (P R P is n x n by n x n; P, P o P, B A_x, K A_x are n^2 d)
 *   factored ~ 4.1 n d^3 + 9 d^4 + 14 n d^2
 * Measured, direct / factored ms (medians): 400 x 30 304 / 55; 1900 x 62 35200 / 1880 (one run); 600 x 62
 * 954 / 687; 400 x 62 474 / 597; 240 x 30 83 / 35; 120 x 30 14 / 23; 160 x 20 23 / 5.8; 60 x 20 1.8 / 3.5.
 * The switch lands at n = 23, 42, 88, 162, 249, 482 for d = 8, 12, 20, 30, 40, 62 (n < d(d+1)/2 sent
 * every one of those up to 36, 78, 210, 465, 820, 1953 rows to the n^3 path).
 */
const DIRECT_NS = { n3: 3.7, n2d: 15 } as const;
const FACTORED_NS = { nd3: 4.1, d4: 9, nd2: 14 } as const;

/**
 * The cheaper path by the measured cost model above. Direct only below n = d(d+1)/2 and DIRECT_MAX_ROWS
 * (its n x n arrays; memory.ts counts them only there).
 */
export function choosePath(n: number, d: number): DerivativePath {
  if (n >= (d * (d + 1)) / 2 || n > DIRECT_MAX_ROWS) return 'factored';
  const direct = DIRECT_NS.n3 * n ** 3 + DIRECT_NS.n2d * n * n * d;
  const factored = FACTORED_NS.nd3 * n * d ** 3 + FACTORED_NS.d4 * d ** 4 + FACTORED_NS.nd2 * n * d * d;
  return direct < factored ? 'direct' : 'factored';
}

export class LeverageModel {
  readonly n: number;
  readonly d: number;
  private readonly A: Float64Array;
  private readonly b: Float64Array;
  private readonly target: Float64Array;
  /** w_i^2 per row, or null without regularizer */
  readonly w2: Float64Array | null;
  /** A^T W^2 A (d x d), the regularizer's constant Hessian, or null */
  readonly regHessian: Float64Array | null;
  /** polled inside every O(n d^2) and longer loop (throws StopRequested) */
  readonly stop: Stopper;
  /** the row loops: WebAssembly or the TypeScript reference (the choice in force when the model is made) */
  readonly kernels: Kernels;
  /**
   * P2 A_x and B A_x, n x d each: the Hessian's intermediates, which never leave factored(), so one pair
   * serves every iteration instead of two fresh 8 n d byte arrays each time (allocation is not free).
   */
  private scratch: { p2ax: Float64Array; bax: Float64Array } | null = null;
  /**
   * n x d arrays of points the solver is done with (recycle), for the next points' A_x and Q. Shared
   * memory on threads is freed late by the garbage collector (it does not count towards its pressure):
   * without reuse a 1e6 x 20 solve on two threads peaked at 3 GB instead of 1.9.
   */
  private readonly spare: Float64Array[] = [];

  constructor(problem: Problem, stop: Stopper = NO_STOP, kernels: Kernels = currentKernels()) {
    const { n, d, A, b, sigma } = problem;
    this.n = n;
    this.d = d;
    this.A = A;
    this.b = b;
    this.target = sigma;
    this.stop = stop;
    this.kernels = kernels;
    this.w2 = regularizationSquares(problem.regularization, n);
    this.regHessian = this.w2 ? kernels.weightedGram(A, n, d, this.w2, stop) : null;
  }

  /** A v */
  apply(v: Float64Array): Float64Array {
    const { n, d, A } = this;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let t = 0;
      const ri = i * d;
      for (let j = 0; j < d; j++) t += A[ri + j] * v[j];
      out[i] = t;
    }
    return out;
  }

  /** s = A x - b */
  slacks(x: Float64Array): Float64Array {
    const s = this.apply(x);
    for (let i = 0; i < this.n; i++) s[i] -= this.b[i];
    return s;
  }

  /** Scores and loss at x. The caller guarantees no slack is 0 (the solver never leaves its cell). */
  at(x: Float64Array, s: Float64Array = this.slacks(x)): Point {
    const { n, d, A, target, kernels } = this;
    // in the kernels' memory (shared when they run on several threads), as the row loops read it
    const ax = this.take();
    for (let i = 0, p = 0; i < n; i++) {
      const inv = 1 / s[i];
      for (const end = p + d; p < end; p++) ax[p] = A[p] * inv;
    }
    const { u, r } = kernels.thinQr(ax, n, d, this.stop, this.take());
    const lev = kernels.rowSquares(u, n, d);
    const rho = kernels.alloc(n);
    let sq = 0;
    for (let i = 0; i < n; i++) {
      rho[i] = lev[i] - target[i];
      sq += rho[i] * rho[i];
    }
    return { x, s, ax, u, t: r, lev, rho, loss: 0.5 * sq + this.regLoss(x) };
  }

  /**
   * Hands back a point nothing will read again (a rejected trial, a replaced iterate): its A_x and Q
   * become the next points'. Only the solver's loop calls this.
   */
  recycle(pt: Point): void {
    this.reuse(pt.ax);
    this.reuse(pt.u);
  }

  /** Takes an n x d array nothing will read again (e.g. the start point's), for the next points. */
  reuse(buffer: Float64Array): void {
    const size = this.n * this.d;
    if (buffer.length === size && this.spare.length < 4 && !this.spare.includes(buffer))
      this.spare.push(buffer);
  }

  private take(): Float64Array {
    return this.spare.pop() ?? this.kernels.alloc(this.n * this.d);
  }

  private regLoss(x: Float64Array): number {
    const { w2, n } = this;
    if (!w2) return 0;
    const ax = this.apply(x);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += w2[i] * ax[i] * ax[i];
    return 0.5 * sum;
  }

  /** Adds A^T W^2 A x to g (the regularizer's gradient). */
  private addRegGradient(g: Float64Array, x: Float64Array): void {
    const h = this.regHessian;
    if (!h) return;
    const d = this.d;
    for (let k = 0; k < d; k++) {
      let v = 0;
      for (let j = 0; j < d; j++) v += h[k * d + j] * x[j];
      g[k] += v;
    }
  }

  derivatives(
    pt: Point,
    want: { hessian?: boolean; jacobian?: boolean },
    path: DerivativePath = choosePath(this.n, this.d),
  ): Derivatives {
    const out = path === 'direct' ? this.direct(pt, want) : this.factored(pt, want);
    this.addRegGradient(out.gradient, pt.x);
    if (out.hessian && this.regHessian) {
      const h = out.hessian;
      for (let i = 0; i < h.length; i++) h[i] += this.regHessian[i];
    }
    return out;
  }

  /** Rows W A (w_i a_i), the regularizer's residual Jacobian, for Gauss-Newton's stacked least squares. */
  regRows(): Float64Array | null {
    const { w2, n, d, A } = this;
    if (!w2) return null;
    const rows = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      const w = Math.sqrt(w2[i]);
      for (let j = 0; j < d; j++) rows[i * d + j] = w * A[i * d + j];
    }
    return rows;
  }

  /** W A x, the regularizer's residual. */
  regResidual(x: Float64Array): Float64Array | null {
    const { w2, n } = this;
    if (!w2) return null;
    const r = this.apply(x);
    for (let i = 0; i < n; i++) r[i] *= Math.sqrt(w2[i]);
    return r;
  }

  private factored(pt: Point, want: { hessian?: boolean; jacobian?: boolean }): Derivatives {
    const { n, d, stop, kernels } = this;
    const { u, ax, lev, rho } = pt;

    // G = U^T R U (d x d) and P2 rho: (P o P) rho = Y (Y^T rho) with Y^T rho = vec(G).
    if (!pt.scoreTerms) {
      const G = kernels.weightedGram(u, n, d, rho, stop);
      const p2rho = kernels.quadForms(u, n, d, G, stop);
      pt.scoreTerms = { G, p2rho, gradient: scoreGradient(pt, p2rho, d, kernels) };
    }
    const { G, p2rho } = pt.scoreTerms;
    // a copy: derivatives() adds the regularizer's gradient to it
    const gradient = pt.scoreTerms.gradient.slice();
    if (!want.hessian && !want.jacobian) return { gradient };

    // C = Y^T A_x over distinct pairs (k <= l), m x d: with A_x = U T, C[(k,l), :] = sum_m M_klm T[m, :]
    // where M = the third moments of the rows of U. This and P2 A_x = Y C are the O(n d^3) part.
    const C = pairMomentsTimes(kernels.thirdMoments(u, n, d, stop), pt.t, d, stop);
    this.scratch ??= { p2ax: kernels.alloc(n * d), bax: kernels.alloc(n * d) };
    // P2 A_x = Y C (the off-diagonal pairs count twice).
    const p2ax = kernels.pairRows(u, n, d, C, stop, this.scratch.p2ax);
    // B A_x = Sigma A_x - P2 A_x; J = -2 B A_x.
    const rows = kernels.rowTerms(
      ax,
      p2ax,
      lev,
      rho,
      p2rho,
      n,
      d,
      want.hessian === true,
      stop,
      this.scratch.bax,
    );
    const bax = rows.bax;

    const out: Derivatives = { gradient };
    if (want.jacobian) {
      const J = new Float64Array(n * d);
      for (let i = 0; i < n * d; i++) J[i] = -2 * bax[i];
      out.jacobian = J;
    }
    if (!want.hessian) return out;

    // Row terms (rows.H): 4 (B A_x)^T (B A_x) + A_x^T diag(6 rho o sigma - 6 P2 rho) A_x
    //            - 4 [ (R A_x)^T (P2 A_x) + (P2 A_x)^T (R A_x) ]
    const H = rows.H!;
    // 8 A_x^T (P o (P R P)) A_x = 8 C^T (I (x) G) C = 8 sum_k C_k^T G C_k, C_k[l, :] = C[(k,l), :].
    const Ck = new Float64Array(d * d);
    const GC = new Float64Array(d * d);
    for (let k = 0; k < d; k++) {
      for (let l = 0; l < d; l++) {
        const p = pairIndex(Math.min(k, l), Math.max(k, l), d);
        for (let j = 0; j < d; j++) Ck[l * d + j] = C[p * d + j];
      }
      GC.fill(0);
      for (let a = 0; a < d; a++) {
        stop.tick(d * d);
        for (let l = 0; l < d; l++) {
          const g = G[a * d + l];
          if (g === 0) continue;
          for (let j = 0; j < d; j++) GC[a * d + j] += g * Ck[l * d + j];
        }
      }
      for (let l = 0; l < d; l++) {
        stop.tick(d * d);
        for (let a = 0; a < d; a++) {
          const c = 8 * Ck[l * d + a];
          for (let j = 0; j < d; j++) H[a * d + j] += c * GC[l * d + j];
        }
      }
    }
    out.hessian = symmetrize(H, d);
    return out;
  }

  /** The literal formulas with n x n matrices: for small n, and as the reference in tests. */
  private direct(pt: Point, want: { hessian?: boolean; jacobian?: boolean }): Derivatives {
    const { n, d, stop } = this;
    const { u, ax, lev, rho } = pt;
    const P = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      stop.tick((n - i) * d);
      for (let j = i; j < n; j++) {
        let v = 0;
        for (let k = 0; k < d; k++) v += u[i * d + k] * u[j * d + k];
        P[i * n + j] = v;
        P[j * n + i] = v;
      }
    }
    const P2 = new Float64Array(n * n);
    for (let i = 0; i < n * n; i++) P2[i] = P[i] * P[i];
    const p2rho = matVec(P2, rho, n, stop);
    const gradient = scoreGradient(pt, p2rho, d, this.kernels);
    if (!want.hessian && !want.jacobian) return { gradient };

    // B = Sigma - P2
    const B = new Float64Array(n * n);
    for (let i = 0; i < n * n; i++) B[i] = -P2[i];
    for (let i = 0; i < n; i++) B[i * n + i] += lev[i];
    const bax = matMul(B, ax, n, n, d, stop);
    const out: Derivatives = { gradient };
    if (want.jacobian) out.jacobian = bax.map((v) => -2 * v);
    if (!want.hessian) return out;

    // K = 6 diag(rho o sigma) - 6 diag(P2 rho) - 4 (R P2 + P2 R) + 8 P o (P R P)
    const K = new Float64Array(n * n);
    const RP = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) RP[i * n + j] = rho[i] * P[i * n + j];
    const PRP = matMul(P, RP, n, n, n, stop);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        K[i * n + j] = -4 * (rho[i] + rho[j]) * P2[i * n + j] + 8 * P[i * n + j] * PRP[i * n + j];
      }
      K[i * n + i] += 6 * rho[i] * lev[i] - 6 * p2rho[i];
    }
    // H = A_x^T (4 B^2 + K) A_x
    const inner = matMul(B, bax, n, n, d, stop);
    const kax = matMul(K, ax, n, n, d, stop);
    for (let i = 0; i < n * d; i++) inner[i] = 4 * inner[i] + kax[i];
    const H = new Float64Array(d * d);
    for (let i = 0; i < n; i++) {
      stop.tick(d * d);
      for (let a = 0; a < d; a++) {
        const f = ax[i * d + a];
        for (let c = 0; c < d; c++) H[a * d + c] += f * inner[i * d + c];
      }
    }
    out.hessian = symmetrize(H, d);
    return out;
  }
}

/** J^T rho = -2 A_x^T (sigma(x) o rho - P2 rho), given P2 rho (however it was computed). */
function scoreGradient(pt: Point, p2rho: Float64Array, d: number, kernels: Kernels): Float64Array {
  const { ax, lev, rho } = pt;
  const n = rho.length;
  const c = kernels.alloc(n);
  for (let i = 0; i < n; i++) c[i] = -2 * (lev[i] * rho[i] - p2rho[i]);
  return kernels.combineRows(ax, n, d, c);
}

/**
 * C[(k,l), :] = sum_m M_klm T[m, :] over the pairs k <= l (m x d), from the packed third moments M
 * (k <= l <= m, lexicographic) and T upper triangular (so m <= j only). O(d^4 / 4).
 */
export function pairMomentsTimes(
  M: Float64Array,
  T: Float64Array,
  d: number,
  stop: Stopper = NO_STOP,
): Float64Array {
  const C = new Float64Array(((d * (d + 1)) / 2) * d);
  let p = 0;
  for (let k = 0; k < d; k++) {
    for (let l = k; l < d; l++) {
      stop.tick((d * d) / 2);
      const cp = p++ * d;
      for (let m = 0; m < d; m++) {
        // the sorted triple of (k, l, m), k <= l
        const v =
          M[m < k ? tripleIndex(m, k, l, d) : m < l ? tripleIndex(k, m, l, d) : tripleIndex(k, l, m, d)];
        const tm = m * d;
        for (let j = m; j < d; j++) C[cp + j] += v * T[tm + j];
      }
    }
  }
  return C;
}

/** The place of the triple a <= b <= c among the packed third moments of d columns. */
export function tripleIndex(a: number, b: number, c: number, d: number): number {
  const tet = (x: number): number => (x * (x + 1) * (x + 2)) / 6;
  const tri = (x: number): number => (x * (x + 1)) / 2;
  return tet(d) - tet(d - a) + tri(d - a) - tri(d - b) + (c - b);
}

/** w_i^2 per row from a scalar or per-row weights; null when there is no regularizer. */
function regularizationSquares(w: number | Float64Array | undefined, n: number): Float64Array | null {
  if (w === undefined) return null;
  if (typeof w === 'number') return w === 0 ? null : new Float64Array(n).fill(w * w);
  if (w.every((v) => v === 0)) return null;
  return w.map((v) => v * v);
}

export { rowSquares, weightedGram };

/** The place of the pair k <= l among the d(d+1)/2 pairs (0,0), (0,1), ..., (d-1,d-1). */
function pairIndex(k: number, l: number, d: number): number {
  return (d * (d + 1)) / 2 - ((d - k) * (d - k + 1)) / 2 + (l - k);
}

function symmetrize(H: Float64Array, d: number): Float64Array {
  for (let k = 0; k < d; k++) {
    for (let l = k + 1; l < d; l++) {
      const v = 0.5 * (H[k * d + l] + H[l * d + k]);
      H[k * d + l] = v;
      H[l * d + k] = v;
    }
  }
  return H;
}

function matVec(M: Float64Array, v: Float64Array, n: number, stop: Stopper): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    stop.tick(n);
    let s = 0;
    for (let j = 0; j < n; j++) s += M[i * n + j] * v[j];
    out[i] = s;
  }
  return out;
}

/** (r x c) times (c x k), row-major. */
function matMul(
  X: Float64Array,
  Y: Float64Array,
  r: number,
  c: number,
  k: number,
  stop: Stopper,
): Float64Array {
  const out = new Float64Array(r * k);
  for (let i = 0; i < r; i++) {
    stop.tick(c * k);
    for (let j = 0; j < c; j++) {
      const f = X[i * c + j];
      if (f === 0) continue;
      for (let l = 0; l < k; l++) out[i * k + l] += f * Y[j * k + l];
    }
  }
  return out;
}
