/**
 * Calibrates estimateSolveBytes against measured memory, one JSON line per shape:
 *   {method, n, d, path, estimateMb, measuredMb, ratio, iterations, reason, seconds}
 * measuredMb is the peak RSS of a child process that builds the problem and solves it, minus the peak RSS
 * of an idle child that only loads the solver (the baseline, printed first). ratio = estimate / measured
 * should stay >= 1 (the estimate is what a service refuses on). Each solve starts next to the known
 * answer (no start-point search) and runs at most two iterations, or stops 5 s after its first iterate:
 * the largest arrays of an iteration are all allocated and written within its first rows, so the peak is
 * reached by then.
 *
 * Usage: node dist-bench/bench/memory-estimate.js [--quick]   (--quick skips n = 2001, d = 700)
 *        node dist-bench/bench/memory-estimate.js --case METHOD N D | --baseline   (used by the parent)
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRng } from '#levinv/problem/random.js';
import {
  estimateSolveBytes,
  leverageScores,
  type Method,
  type Problem,
  solve,
} from '#levinv/solver/index.js';
import { choosePath } from '#levinv/solver/leverage-model.js';

const MB = 1024 * 1024;
/** Stop this long after the first iterate: enough for every large array of an iteration to be written. */
const STOP_AFTER_MS = 5000;

interface CaseResult {
  method: Method;
  n: number;
  d: number;
  iterations: number;
  reason: string;
  seconds: number;
  peakRssMb: number;
}

/** A problem with a known answer in the positive cell, built straight into typed arrays (no JSON). */
function problemWithStart(n: number, d: number): Problem {
  const rng = createRng(1);
  const A = new Float64Array(n * d);
  for (let k = 0; k < A.length; k++) A[k] = rng.normal();
  const xStar = new Float64Array(d);
  for (let j = 0; j < d; j++) xStar[j] = rng.normal();
  const b = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let j = 0; j < d; j++) v += A[i * d + j] * xStar[j];
    b[i] = v - rng.uniform(0.5, 1.5);
  }
  const sigma = leverageScores({ n, d, A, b }, xStar);
  // 1e-3 sqrt(d) << 0.5: the start stays in the cell, and the residual is not zero.
  const x0 = xStar.map((v) => v + 1e-3 * rng.normal());
  return { n, d, A, b, sigma, x0 };
}

function runCase(method: Method, n: number, d: number): CaseResult {
  const problem = problemWithStart(n, d);
  const began = performance.now();
  let firstAt = Number.POSITIVE_INFINITY;
  const signal = {
    get aborted() {
      return performance.now() - firstAt > STOP_AFTER_MS;
    },
  };
  const result = solve(
    problem,
    { method, maxIterations: 2, record: { every: 1, includeX: false, limit: 10 } },
    { signal, onIterate: () => (firstAt = Math.min(firstAt, performance.now())) },
  );
  return {
    method,
    n,
    d,
    iterations: result.iterations,
    reason: result.reason,
    seconds: round((performance.now() - began) / 1000, 1),
    peakRssMb: maxRssMb(),
  };
}

// maxRSS is in kilobytes.
const maxRssMb = (): number => round(process.resourceUsage().maxRSS / 1024, 1);
const round = (v: number, digits: number): number => Number(v.toFixed(digits));

function child(args: string[]): string {
  return execFileSync(process.execPath, [fileURLToPath(import.meta.url), ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
}

function main(argv: string[]): void {
  if (argv[0] === '--baseline') {
    process.stdout.write(`${JSON.stringify({ peakRssMb: maxRssMb() })}\n`);
    return;
  }
  if (argv[0] === '--case') {
    const [method, n, d] = argv.slice(1);
    process.stdout.write(`${JSON.stringify(runCase(method as Method, Number(n), Number(d)))}\n`);
    return;
  }
  const quick = argv.includes('--quick');
  const cases: Array<[Method, number, number]> = [
    ['newton', 500, 12],
    ['gauss-newton', 500, 12],
    ['gd', 500, 12],
    ['newton', 1000, 60],
    ['gauss-newton', 1000, 60],
    ['gd', 1000, 60],
    ['newton', 2000, 64],
    ['gauss-newton', 2000, 64],
    ['newton', 2000, 40],
    ['gauss-newton', 2000, 40],
    ['newton', 20000, 60],
    ['newton', 100000, 20],
    ['gauss-newton', 100000, 20],
    ['gd', 100000, 20],
    ['gd', 2001, 700],
    ...(quick ? [] : ([['newton', 2001, 700]] as Array<[Method, number, number]>)),
  ];
  const baseline = (JSON.parse(child(['--baseline'])) as { peakRssMb: number }).peakRssMb;
  process.stdout.write(`${JSON.stringify({ baselineRssMb: baseline })}\n`);
  for (const [method, n, d] of cases) {
    const r = JSON.parse(child(['--case', method, String(n), String(d)])) as CaseResult;
    const estimateMb = round(estimateSolveBytes(n, d, method) / MB, 1);
    const measuredMb = round(r.peakRssMb - baseline, 1);
    process.stdout.write(
      `${JSON.stringify({
        method,
        n,
        d,
        path: choosePath(n, d),
        estimateMb,
        measuredMb,
        ratio: round(estimateMb / measuredMb, 2),
        iterations: r.iterations,
        reason: r.reason,
        seconds: r.seconds,
      })}\n`,
    );
  }
}

main(process.argv.slice(2));
