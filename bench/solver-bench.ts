/**
 * `npm run bench`: solver figures, one JSON line per case:
 *   {method, n, d, iterations, seconds, startSeconds, msPerIteration, peakRssMb, relError, converged,
 *    iterationMs, numpy?}
 * Each case runs in its own child process so that peakRssMb (the OS's max resident set size) belongs to that
 * case alone. `seconds` is the whole solve including the start point (phase I and the analytic centre);
 * msPerIteration excludes the start; iterationMs lists each iteration's ms.
 *
 * Newton cases are also solved by the numpy/OpenBLAS reference (scripts/numpy_newton.py, the same method:
 * same formulas, shift and step rules, stopping rules), from levinv's own start point, as a python3 child
 * of the case's process, once with one BLAS thread (levinv solves on one thread: the fair ratio) and once
 * with numpy's default (all cores). `numpy` then carries both runs' iterations and times, and
 * `ratio = levinv's solve time / numpy's` (the iterations, start excluded) and the same per iteration.
 * `sameX` says whether both ended at the same x, to X_AGREEMENT relative. Without python3 or numpy the
 * column is skipped with a note.
 *
 * Each case first solves a smaller problem untimed (warmUp), as a long-running worker has. Every case runs
 * on one solver thread; the Newton and Gauss-Newton cases at n >= 20000 run again on
 * all cores (SOLVER_THREADS, `threads`), and a line gives each one's speed-up per iteration.
 *
 * A markdown table of all cases closes the output, then a line checking that the per-iteration time
 * grows linearly in n. The global start's rows follow (global-start-bench.ts: unknown signs at n x 20 for
 * n = 20000, 100000 and 1000000 against its numpy reference and the known-cell Newton, and 5000 x 100),
 * with their own table.
 *
 * Usage: node dist-bench/bench/solver-bench.js [--quick] [--no-numpy]   (--quick skips the n = 100000 cases and
 *        the global start's beyond n = 20000)
 *        node dist-bench/bench/solver-bench.js --case METHOD N D SEED THREADS [--numpy]   (one case, for the parent)
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { generateProblem } from '#levinv/problem/generate.js';
import { parseProblem } from '#levinv/problem/parse.js';
import {
  DEFAULT_RECORD_LIMIT,
  type Method,
  resolveOptions,
  solve,
  useSolverThreads,
} from '#levinv/solver/index.js';
import { globalStartCases } from './global-start-bench.js';
import { numpyUnavailable, relativeDifference, runNumpyNewton } from './numpy-reference.js';

/** levinv and numpy count as ending at the same x when they differ by at most this, relative. */
const X_AGREEMENT = 1e-8;

interface NumpyFigures {
  threads: number;
  iterations: number;
  reason: string;
  seconds: number;
  msPerIteration: number;
  iterationMs: number[];
  /** levinv's solve seconds / numpy's */
  ratio: number;
  /** levinv's ms per iteration / numpy's */
  ratioPerIteration: number;
  /** ||x_levinv - x_numpy|| / ||x_levinv|| */
  xDifference: number;
  sameX: boolean;
}

interface CaseResult {
  method: Method;
  n: number;
  d: number;
  /** solver threads the row loops ran on */
  threads: number;
  iterations: number;
  seconds: number;
  startSeconds: number;
  msPerIteration: number;
  peakRssMb: number;
  relError: number;
  converged: boolean;
  reason: string;
  iterationMs: number[];
  numpy?: { oneThread: NumpyFigures; allThreads: NumpyFigures } | { skipped: string };
}

function runCase(
  method: Method,
  n: number,
  d: number,
  seed: number,
  threads: number,
  withNumpy: boolean,
): CaseResult {
  useSolverThreads(threads);
  warmUp(method, Math.min(n, WARM_UP_ROWS), d, seed + 1);
  const { problem, options, xStar } = parseProblem(generateProblem({ n, d, seed }));
  // From the analytic centre: these rows time the method's iterations, and the global start (the default)
  // would land on xStar with none left to time; its own rows follow (global-start-bench.ts).
  const solveOptions = resolveOptions({
    ...options,
    start: 'centre',
    method,
    record: { every: 1, includeX: false, limit: DEFAULT_RECORD_LIMIT },
  });
  const stamps: number[] = [];
  const result = solve(problem, solveOptions, { onIterate: () => stamps.push(performance.now()) });
  const iterationMs = stamps.slice(1).map((t, k) => round(t - stamps[k], 1));
  const solveSeconds = result.timings.solveMs / 1000;
  const msPerIteration = result.timings.solveMs / Math.max(result.iterations, 1);
  const out: CaseResult = {
    method,
    n,
    d,
    threads: result.timings.threads,
    iterations: result.iterations,
    seconds: round(result.timings.totalMs / 1000, 3),
    startSeconds: round(result.timings.startMs / 1000, 3),
    msPerIteration: round(msPerIteration, 1),
    // maxRSS is in kilobytes; read before python3 runs (it counts this process alone anyway).
    peakRssMb: round(process.resourceUsage().maxRSS / 1024, 1),
    relError: Number(relativeDifference(xStar!, result.x).toPrecision(3)),
    converged: result.converged,
    reason: result.reason,
    iterationMs,
  };
  if (!withNumpy || method !== 'newton') return out;
  const figures = (threads: number | undefined): NumpyFigures => {
    const np = runNumpyNewton(problem, result.start, {
      maxIterations: solveOptions.maxIterations,
      tolerance: solveOptions.tolerance,
      threads,
    });
    const xDifference = relativeDifference(result.x, np.x);
    return {
      threads: np.threads,
      iterations: np.iterations,
      reason: np.reason,
      seconds: round(np.solveSeconds, 3),
      msPerIteration: round(np.msPerIteration, 1),
      iterationMs: np.iterates.slice(1).map((it) => round(it.ms, 1)),
      ratio: round(solveSeconds / np.solveSeconds, 2),
      ratioPerIteration: round(msPerIteration / np.msPerIteration, 2),
      xDifference: Number(xDifference.toPrecision(3)),
      sameX: xDifference <= X_AGREEMENT,
    };
  };
  out.numpy = { oneThread: figures(1), allThreads: figures(undefined) };
  return out;
}

const round = (v: number, digits: number): number => Number(v.toFixed(digits));

/** Rows of the warm-up problem (see warmUp). */
const WARM_UP_ROWS = 5000;

/**
 * One untimed solve of a smaller problem of the same shape class first, as a worker that has been up for
 * a while has done: the JavaScript and WebAssembly code is compiled by its optimising tiers and the
 * helper threads are running. A case's first iterations in a fresh process otherwise time V8's tier-up
 * (numpy's BLAS is compiled ahead of time).
 */
function warmUp(method: Method, n: number, d: number, seed: number): void {
  const { problem, options } = parseProblem(generateProblem({ n, d, seed }));
  solve(problem, { ...options, start: 'centre', method });
}

function table(results: CaseResult[]): string {
  const head =
    '| method | n | d | threads | iterations | seconds | ms / iteration | peak RSS MB | rel. error | numpy iterations | ' +
    'numpy ms / iteration (1 thread) | ratio (1 thread) | ratio / iteration | numpy ms / iteration (all) | ' +
    'ratio (all) | x difference |';
  const rows = results.map((r) => {
    const np = r.numpy && 'oneThread' in r.numpy ? r.numpy : null;
    const cells = np
      ? [
          np.oneThread.iterations,
          np.oneThread.msPerIteration,
          np.oneThread.ratio,
          np.oneThread.ratioPerIteration,
          np.allThreads.msPerIteration,
          np.allThreads.ratio,
          Math.max(np.oneThread.xDifference, np.allThreads.xDifference).toExponential(1),
        ]
      : Array(7).fill('-');
    return `| ${[r.method, r.n, r.d, r.threads, r.iterations, r.seconds, r.msPerIteration, r.peakRssMb, r.relError.toExponential(1), ...cells].join(' | ')} |`;
  });
  return [head, `|${'---|'.repeat(16)}`, ...rows].join('\n');
}

function main(argv: string[]): void {
  if (argv[0] === '--case') {
    const [method, n, d, seed, threads] = argv.slice(1);
    const result = runCase(
      method as Method,
      Number(n),
      Number(d),
      Number(seed),
      Number(threads),
      argv.includes('--numpy'),
    );
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const quick = argv.includes('--quick');
  const missing = argv.includes('--no-numpy') ? 'turned off (--no-numpy)' : numpyUnavailable();
  if (missing) {
    process.stdout.write(`${JSON.stringify({ note: `numpy comparison skipped: ${missing}` })}\n`);
  }
  const cases: Array<[Method, number, number]> = [
    ['newton', 500, 12],
    ['gauss-newton', 500, 12],
    ['gd', 500, 12],
    ['newton', 2000, 40],
    ['gauss-newton', 2000, 40],
    ['newton', 20000, 20],
    ['gauss-newton', 20000, 20],
    ['newton', 50000, 20],
    ...(quick
      ? []
      : ([
          ['newton', 100000, 20],
          ['gauss-newton', 100000, 20],
        ] as Array<[Method, number, number]>)),
  ];
  const self = fileURLToPath(import.meta.url);
  const results: CaseResult[] = [];
  const cores = availableParallelism();
  const runs = cases.flatMap(([method, n, d]) =>
    (method !== 'gd' && n >= 20000 && cores > 1 ? [1, cores] : [1]).map((t) => [method, n, d, t] as const),
  );
  for (const [method, n, d, threads] of runs) {
    const args = [
      self,
      '--case',
      method,
      String(n),
      String(d),
      '1',
      String(threads),
      ...(missing ? [] : ['--numpy']),
    ];
    const out = execFileSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 16 << 20 });
    const result = JSON.parse(out) as CaseResult;
    if (missing && method === 'newton') result.numpy = { skipped: missing };
    results.push(result);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
  process.stdout.write(`\n${table(results)}\n\n`);
  // Linear growth: Newton's ms per iteration divided by n, at d = 20, should stay about constant.
  const scaling = results
    .filter((r) => r.method === 'newton' && r.d === 20 && r.threads === 1)
    .map((r) => ({ n: r.n, usPerIterationPerRow: round((1000 * r.msPerIteration) / r.n, 3) }));
  process.stdout.write(
    `${JSON.stringify({ scaling: 'newton, d = 20, microseconds per iteration per row', points: scaling })}\n`,
  );
  // The threads' speed-up: ms per iteration on one thread / on all cores, for each case run both ways.
  const speedUp = results
    .filter((r) => r.threads > 1)
    .map((r) => {
      const alone = results.find(
        (o) => o.threads === 1 && o.method === r.method && o.n === r.n && o.d === r.d,
      )!;
      return {
        method: r.method,
        n: r.n,
        d: r.d,
        threads: r.threads,
        speedUpPerIteration: round(alone.msPerIteration / r.msPerIteration, 2),
      };
    });
  process.stdout.write(`${JSON.stringify({ speedUp })}\n`);
  globalStartCases(quick, missing);
}

main(process.argv.slice(2));
