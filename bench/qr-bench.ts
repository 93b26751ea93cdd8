/**
 * `node dist-bench/bench/qr-bench.js`: why the hot path has its own Householder QR. Times the thin QR (with Q
 * formed) of an n x 20 matrix by ml-matrix's QrDecomposition and by src/solver/householder-qr.ts, and
 * prints one JSON line per size with both times and the largest difference in the leverage scores.
 */
import { Matrix, QrDecomposition } from 'ml-matrix';
import { createRng } from '#levinv/problem/random.js';
import { HouseholderQr, toColumnMajor } from '#levinv/solver/householder-qr.js';
import { rowSquares } from '#levinv/solver/leverage-model.js';

function timeMs(fn: () => void, repeats: number): number {
  fn(); // warm-up, so both sides are measured after JIT compilation
  const start = performance.now();
  for (let r = 0; r < repeats; r++) fn();
  return (performance.now() - start) / repeats;
}

const d = 20;
for (const n of [2000, 20000, 100000]) {
  const rng = createRng(n);
  const rows = new Float64Array(n * d).map(() => rng.normal());
  const matrix = new Matrix(
    Array.from({ length: n }, (_, i) => Array.from(rows.subarray(i * d, (i + 1) * d))),
  );
  let ours: Float64Array = new Float64Array(0);
  let theirs: Float64Array = new Float64Array(0);
  const repeats = n >= 100000 ? 2 : 5;
  const oursMs = timeMs(() => {
    ours = rowSquares(new HouseholderQr(toColumnMajor(rows, n, d), n, d).thinQRowMajor(), n, d);
  }, repeats);
  const mlMs = timeMs(() => {
    const q = new QrDecomposition(matrix).orthogonalMatrix;
    theirs = Float64Array.from({ length: n }, (_, i) => {
      let v = 0;
      for (let j = 0; j < d; j++) v += q.get(i, j) ** 2;
      return v;
    });
  }, repeats);
  let diff = 0;
  for (let i = 0; i < n; i++) diff = Math.max(diff, Math.abs(ours[i] - theirs[i]));
  const line = {
    n,
    d,
    householderMs: +oursMs.toFixed(1),
    mlMatrixMs: +mlMs.toFixed(1),
    speedup: +(mlMs / oursMs).toFixed(1),
    maxScoreDiff: diff,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
