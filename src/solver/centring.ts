/**
 * Phase II of the start point (docs/MATH.md, "Phase II: Newton to the centre"): damped Newton on
 * -sum log s_i from a strictly feasible point. The Newton step solves the least-squares problem
 * min || diag(1/s) A p - 1 || by QR (no normal equations): with diag(1/s) A = Q R and y = (Q^T 1)_{1..d},
 * p = R^{-1} y and lambda^2 = ||y||^2.
 *
 * Near the centre the slacks change by a relative O(lambda) per step, so the last QR's R still describes
 * diag(1/s) A to that accuracy: the following steps reuse it (chord steps, y = R^{-T} A^T (1/s), O(n d)
 * instead of the QR's O(n d^2)), each shrinking lambda by about that factor. The stop rule reads that y
 * too; it is lambda to a relative O(lambda of the last QR), and a step that fails to shrink it enough
 * factors afresh. The fixed point is where the gradient A^T (1/s) vanishes, whichever R: the centre is
 * the one a QR at every step converges to.
 *
 * A bounded cell has lambda < 1 somewhere and converges quadratically; on an unbounded cell lambda >= 1
 * everywhere and the iterates run off geometrically, which the radius check catches.
 */
import { SolverError } from './errors.js';
import type { Feasible } from './feasible-point.js';
import { HouseholderQr, toColumnMajor } from './householder-qr.js';
import type { Kernels } from './kernels.js';
import { allPositive, breakdown, type Cell, cellSlacks, dot } from './start-cell.js';
import { solveUpper, solveUpperTransposed } from './triangular.js';

/** After a QR step with lambda below this, the next steps reuse its R. */
const CHORD_BELOW = 0.6;
/**
 * A chord step must shrink lambda at least this much, else the next step factors again. A chord step
 * costs about a fifth of a TypeScript QR at 200 x 8, and a seventh of the wasm QR (which also forms Q)
 * at 100000 x 20, where accepting rate 0.5 took 2 QRs and 5 chord steps instead of 3 and 4.
 */
const CHORD_RATE = 0.25;
const CHORD_RATE_WASM_QR = 0.5;
/** n d from which the WebAssembly thinQr (which also forms Q) beats the TypeScript Householder QR. */
const WASM_QR_CELLS = 1 << 14;

/**
 * From a strictly feasible point (which it may overwrite). Once centred, the cell's n x d rows and this
 * phase's n x d buffer go to `release` (the solver reuses them for its first points' A_x and Q).
 */
export function centre(
  cell: Cell,
  start: Feasible,
  kernels: Kernels,
  release: (buffer: Float64Array) => void = () => undefined,
): Float64Array {
  const { n, d, rows, radius, stop } = cell;
  let x: Float64Array = start.x;
  let trial: Float64Array = new Float64Array(d);
  let s: Float64Array = start.s;
  let trialS: Float64Array = new Float64Array(n);
  const inv = kernels.alloc(n);
  const newton = newtonFactor(cell, kernels);
  const rate = newton.wasm ? CHORD_RATE_WASM_QR : CHORD_RATE;
  /** R of the last QR while chord steps may reuse it */
  let R: Float64Array | null = null;
  let previous = Infinity;
  for (let iteration = 0; iteration < 500; iteration++) {
    for (let i = 0; i < n; i++) inv[i] = 1 / s[i];
    let y: Float64Array | null = null;
    if (R) {
      stop.tick(n * d);
      y = solveUpperTransposed(R, d, kernels.combineRows(rows, n, d, inv));
      const estimate = Math.sqrt(dot(y, y));
      if (!(estimate <= rate * previous || estimate < 1e-13)) y = null;
    }
    if (!y || !R) {
      const qr = newton.factor(inv);
      R = qr.r;
      y = qr.y;
    }
    const lambda = Math.sqrt(dot(y, y));
    if (!Number.isFinite(lambda)) throw breakdown('the analytic centre');
    if (lambda < 1e-13 || (lambda < 1e-7 && lambda >= previous)) {
      for (const buffer of [rows, ...newton.buffers]) release(buffer);
      return x;
    }
    previous = lambda;
    const p = solveUpper(R, d, y);
    if (lambda >= CHORD_BELOW) R = null;
    let alpha = lambda > 0.25 ? 1 / (1 + lambda) : 1;
    // Rounding can put a full step a hair outside the cell; back off until it is inside.
    for (let h = 0; h < 60; h++, alpha /= 2) {
      for (let j = 0; j < d; j++) trial[j] = x[j] + alpha * p[j];
      if (allPositive(cellSlacks(cell, trial, trialS))) {
        [x, trial] = [trial, x];
        [s, trialS] = [trialS, s];
        break;
      }
    }
    if (Math.sqrt(dot(x, x)) > radius) break;
  }
  throw new SolverError(
    'UNBOUNDED_CELL',
    'the cell is unbounded, so it has no analytic centre: give x0, or choose signs that close the cell',
    'signs',
  );
}

interface NewtonFactor {
  /** R (d x d upper, row-major) and y = (Q^T 1)_{1..d} of diag(inv) A = Q R */
  factor(inv: Float64Array): { r: Float64Array; y: Float64Array };
  /** whether it runs the WebAssembly thinQr */
  wasm: boolean;
  /** its n x d working arrays */
  buffers: Float64Array[];
}

function newtonFactor(cell: Cell, kernels: Kernels): NewtonFactor {
  const { n, d, rows, stop } = cell;
  const ones = kernels.alloc(n).fill(1);
  if (kernels.name === 'wasm' && n * d >= WASM_QR_CELLS) {
    // A_x of the step, then its Q in the same array (the QR reads a row before it writes it)
    const scaled = kernels.alloc(n * d);
    const factor = (inv: Float64Array) => {
      for (let i = 0; i < n; i++) {
        const ri = i * d;
        for (let j = 0; j < d; j++) scaled[ri + j] = rows[ri + j] * inv[i];
      }
      const { u, r } = kernels.thinQr(scaled, n, d, stop, scaled);
      stop.tick(n * d);
      return { r, y: kernels.combineRows(u, n, d, ones) };
    };
    return { factor, wasm: true, buffers: [scaled] };
  }
  const factor = (inv: Float64Array) => {
    const qr = new HouseholderQr(toColumnMajor(rows, n, d, inv), n, d, stop);
    return { r: qr.r(), y: qr.qtHead(ones) };
  };
  return { factor, wasm: false, buffers: [] };
}
