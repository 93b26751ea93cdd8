/**
 * `node dist-bench/bench/path-bench.js [--large]`: the two derivative paths of src/solver/leverage-model.ts timed
 * against each other, to place choosePath's switch. For each (n, d) of a grid around the old rule's
 * boundary n = d(d+1)/2 it times one exact gradient + Hessian (`model.derivatives(point, {hessian: true},
 * path)`, what a Newton iteration computes) on each path at a point off the solution, the median of
 * several repeats after a warm-up, and prints one JSON line per point, a markdown table, and the cost
 * model fitted to the figures above 1 ms (least squares on relative error):
 *
 *   direct   ~ a1 n^3 + a2 n^2 d          (P R P is n x n times n x n; P, P o P, B A_x, K A_x are n^2 d)
 *   factored ~ b1 n d^3 + b2 d^4 + b3 n d^2   (C and P2 A_x; the C_k^T G C_k sum; the row terms and QR)
 *
 * --large adds n = 1900, d = 62 (the direct path alone takes ~15 s there).
 */
import { createRng } from '#levinv/problem/random.js';
import { leverageScores, type Problem } from '#levinv/solver/index.js';
import { type DerivativePath, LeverageModel } from '#levinv/solver/leverage-model.js';

interface Row {
  n: number;
  d: number;
  directMs: number;
  factoredMs: number;
  /** direct / factored */
  ratio: number;
}

function problemAt(n: number, d: number, seed: number): { model: LeverageModel; x: Float64Array } {
  const rng = createRng(seed);
  const A = new Float64Array(n * d).map(() => rng.normal());
  const xStar = new Float64Array(d).map(() => rng.normal());
  const b = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let j = 0; j < d; j++) v += A[i * d + j] * xStar[j];
    b[i] = v - rng.uniform(0.5, 1.5);
  }
  const problem: Problem = { n, d, A, b, sigma: new Float64Array(n) };
  problem.sigma = leverageScores(problem, xStar);
  // off the solution (every Hessian term non-zero), in the same cell
  const x = xStar.map((v) => v + 0.01 * rng.normal());
  return { model: new LeverageModel(problem), x };
}

/** Median ms of one gradient + Hessian on `path`: a warm-up, then repeats until ~0.4 s (3 to 15 of them). */
function timeHessian(model: LeverageModel, x: Float64Array, path: DerivativePath): number {
  const point = model.at(x);
  const once = (): number => {
    const t = performance.now();
    model.derivatives(point, { hessian: true }, path);
    return performance.now() - t;
  };
  const first = once();
  const repeats = Math.max(3, Math.min(15, Math.ceil(400 / Math.max(first, 1e-3))));
  const times = Array.from({ length: first > 3000 ? 1 : repeats }, once).sort((p, q) => p - q);
  return times[(times.length - 1) >> 1];
}

/** Non-negative-ish least squares on relative error: minimises sum_k (f_k . c / t_k - 1)^2 by normal equations. */
function fitCost(features: number[][], times: number[]): number[] {
  const m = features[0].length;
  const M = Array.from({ length: m }, () => new Array<number>(m + 1).fill(0));
  features.forEach((f, k) => {
    const row = f.map((v) => v / times[k]);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) M[i][j] += row[i] * row[j];
      M[i][m] += row[i];
    }
  });
  // Gauss-Jordan with partial pivoting (m <= 3)
  for (let c = 0; c < m; c++) {
    let p = c;
    for (let r = c + 1; r < m; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    for (let r = 0; r < m; r++) {
      if (r === c) continue;
      const f = M[r][c] / M[c][c];
      for (let j = c; j <= m; j++) M[r][j] -= f * M[c][j];
    }
  }
  return M.map((row, i) => row[m] / row[i]);
}

const directFeatures = (n: number, d: number): number[] => [n ** 3, n * n * d];
const factoredFeatures = (n: number, d: number): number[] => [n * d ** 3, d ** 4, n * d * d];

function main(argv: string[]): void {
  const grid: Array<[number, number]> = [];
  const ns = [10, 20, 40, 60, 80, 120, 160, 240, 320, 400, 600, 800];
  for (const d of [4, 6, 8, 12, 16, 20, 30, 40, 62]) {
    const m = (d * (d + 1)) / 2;
    // the old rule's direct region (n < m) and a little beyond it, direct kept to n <= 800 (n^3 time)
    for (const n of ns) if (n > d && n <= Math.max(2 * m, 2 * d + 10)) grid.push([n, d]);
  }
  if (argv.includes('--large')) grid.push([1900, 62]);
  const rows: Row[] = [];
  for (const [n, d] of grid) {
    const { model, x } = problemAt(n, d, n * 1000 + d);
    const factoredMs = timeHessian(model, x, 'factored');
    const directMs = timeHessian(model, x, 'direct');
    const row = {
      n,
      d,
      directMs: Number(directMs.toPrecision(3)),
      factoredMs: Number(factoredMs.toPrecision(3)),
      ratio: Number((directMs / factoredMs).toPrecision(3)),
    };
    rows.push(row);
    process.stdout.write(`${JSON.stringify(row)}\n`);
  }
  // Below 1 ms the figures are JIT and timer noise, and no choice there matters: fit on the rest.
  const fitted = rows.filter((r) => Math.max(r.directMs, r.factoredMs) >= 1);
  const a = fitCost(
    fitted.map((r) => directFeatures(r.n, r.d)),
    fitted.map((r) => r.directMs),
  );
  const b = fitCost(
    fitted.map((r) => factoredFeatures(r.n, r.d)),
    fitted.map((r) => r.factoredMs),
  );
  const predict = (c: number[], f: number[]): number => c.reduce((s, v, i) => s + v * f[i], 0);
  process.stdout.write(
    `\n| n | d | d(d+1)/2 | direct ms | factored ms | direct / factored | model direct ms | model factored ms |\n` +
      `|---|---|---|---|---|---|---|---|\n`,
  );
  for (const r of rows) {
    const md = predict(a, directFeatures(r.n, r.d));
    const mf = predict(b, factoredFeatures(r.n, r.d));
    process.stdout.write(
      `| ${r.n} | ${r.d} | ${(r.d * (r.d + 1)) / 2} | ${r.directMs} | ${r.factoredMs} | ${r.ratio} | ` +
        `${md.toPrecision(3)} | ${mf.toPrecision(3)} |\n`,
    );
  }
  const ns2 = (c: number[]) => c.map((v) => Number((v * 1e6).toPrecision(3)));
  process.stdout.write(
    `\n${JSON.stringify({
      model: 'ms = coefficients . features; coefficients in ns',
      direct: { features: ['n^3', 'n^2 d'], ns: ns2(a) },
      factored: { features: ['n d^3', 'd^4', 'n d^2'], ns: ns2(b) },
    })}\n`,
  );
}

main(process.argv.slice(2));
