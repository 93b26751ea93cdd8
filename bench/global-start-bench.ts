/**
 * The global start's rows of `npm run bench` (solver-bench.ts runs them after its own), also on their own:
 *   node dist-bench/bench/global-start-bench.js [--quick] [--no-numpy]   (--quick: n <= 20000 only)
 *   node dist-bench/bench/global-start-bench.js --case KIND N D THREADS [--numpy]   (one case, for the parent)
 * One JSON line per case, each case in its own child process (peakRssMb is that case's alone), after an
 * untimed warm-up solve of a 5000-row problem of the same kind (as in solver-bench.ts), then a table.
 *
 * `unknown` (generated, seed 1, mixed signs: 30% negative; the signs are hidden from the solver):
 * - globalStart: the global start alone (weights and sign-free recovery: globalStart()), the median of
 *   3 runs (1 at 1e6 rows), its passes, its error to xStar and its wrong signs;
 * - numpy: scripts/numpy_global_start.py, the same method, on the same problem, in the same run: its time
 *   (the median of as many runs) with the BLAS threads of the case (1 at SOLVER_THREADS=1, numpy's default otherwise), ratio = levinv's
 *   global-start seconds / numpy's, and the difference of the two x;
 * - global: the whole default solve without signs (global start + Newton to convergence);
 * - knownCell: today's solve with the signs given and start 'centre' (analytic centre + Newton).
 * `wide` (5000 x 100, same generator): knownCell (centre), globalSigns (the global start with the signs
 * given) and global (no signs), each the whole Newton solve.
 * Each solve reports seconds (total), startSeconds, iterations, converged and relError to xStar.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { generateProblem } from '#levinv/problem/generate.js';
import { parseProblem } from '#levinv/problem/parse.js';
import { globalStart } from '#levinv/solver/global-start.js';
import {
  currentKernels,
  type Problem,
  resolveOptions,
  type StartChoice,
  solve,
  useSolverThreads,
} from '#levinv/solver/index.js';
import { NO_STOP } from '#levinv/solver/stop.js';
import { numpyUnavailable, relativeDifference, runNumpyGlobalStart } from './numpy-reference.js';

type Kind = 'unknown' | 'wide';

interface SolveFigures {
  startMethod: string;
  seconds: number;
  startSeconds: number;
  iterations: number;
  converged: boolean;
  relError: number;
}

export interface GlobalCase {
  kind: Kind;
  n: number;
  d: number;
  threads: number;
  negative: number;
  globalStart?: { seconds: number; passes: number; relError: number; wrongSigns: number };
  numpy?:
    | {
        threads: number;
        seconds: number;
        passes: number;
        route: string;
        ratio: number;
        xDifference: number;
      }
    | { skipped: string };
  global?: SolveFigures;
  globalSigns?: SolveFigures;
  knownCell?: SolveFigures;
  peakRssMb: number;
}

/** Runs of the global start timed per case (n <= 100000), their median reported. */
const REPEATS = 3;
const round = (v: number, digits: number): number => Number(v.toFixed(digits));
const sci = (v: number): number => Number(v.toPrecision(3));

function mixedProblem(n: number, d: number, seed: number): { problem: Problem; xStar: Float64Array } {
  const { problem, xStar } = parseProblem(generateProblem({ n, d, seed, signs: 'mixed' }));
  return { problem, xStar: xStar! };
}

function hidden(problem: Problem): Problem {
  const { signs: _signs, ...rest } = problem;
  return rest;
}

function timedSolve(problem: Problem, start: StartChoice, xStar: Float64Array): SolveFigures {
  const result = solve(problem, resolveOptions({ method: 'newton', start }));
  return {
    startMethod: result.startMethod,
    seconds: round(result.timings.totalMs / 1000, 3),
    startSeconds: round(result.timings.startMs / 1000, 3),
    iterations: result.iterations,
    converged: result.converged,
    relError: sci(relativeDifference(xStar, result.x)),
  };
}

function runCase(kind: Kind, n: number, d: number, threads: number, numpy: boolean): GlobalCase {
  useSolverThreads(threads);
  // warm-up: the optimising tiers and the helper threads, as in a worker that has been up a while
  const warm = mixedProblem(Math.min(n, 5000), d, 2);
  solve(hidden(warm.problem), { method: 'newton' });
  const { problem, xStar } = mixedProblem(n, d, 1);
  const signs = problem.signs!;
  const out: GlobalCase = {
    kind,
    n,
    d,
    threads,
    negative: signs.filter((s) => s < 0).length,
    peakRssMb: 0,
  };
  if (kind === 'wide') {
    out.knownCell = timedSolve(problem, 'centre', xStar);
    out.globalSigns = timedSolve(problem, 'global', xStar);
    out.global = timedSolve(hidden(problem), 'global', xStar);
  } else {
    // the median of REPEATS runs (one at 1e6 rows), for levinv and numpy alike: a single run is as much
    // first touches of fresh memory as arithmetic
    const repeats = n <= 100_000 ? REPEATS : 1;
    const runs: number[] = [];
    let found: ReturnType<typeof globalStart>;
    do {
      const began = performance.now();
      found = globalStart(hidden(problem), currentKernels(), NO_STOP);
      runs.push((performance.now() - began) / 1000);
    } while (runs.length < repeats);
    const seconds = runs.sort((p, q) => p - q)[(runs.length - 1) >> 1];
    if (!found) throw new Error('the global start found nothing');
    let wrong = 0;
    for (let i = 0; i < n; i++) if (found.signs[i] !== signs[i]) wrong++;
    out.globalStart = {
      seconds: round(seconds, 3),
      passes: found.weightPasses,
      relError: sci(relativeDifference(xStar, found.x)),
      wrongSigns: wrong,
    };
    out.global = timedSolve(hidden(problem), 'global', xStar);
    out.knownCell = timedSolve(problem, 'centre', xStar);
    out.peakRssMb = round(process.resourceUsage().maxRSS / 1024, 1);
    if (numpy) {
      const np = runNumpyGlobalStart(hidden(problem), {
        threads: threads === 1 ? 1 : undefined,
        repeat: repeats,
      });
      out.numpy = {
        threads: np.threads,
        seconds: round(np.seconds ?? Number.NaN, 3),
        passes: np.weightPasses ?? 0,
        route: np.route ?? '-',
        ratio: round(seconds / (np.seconds ?? Number.NaN), 2),
        xDifference: np.x ? sci(relativeDifference(found.x, np.x)) : Number.NaN,
      };
    }
  }
  if (out.peakRssMb === 0) out.peakRssMb = round(process.resourceUsage().maxRSS / 1024, 1);
  return out;
}

function table(results: GlobalCase[]): string {
  const head =
    '| problem | n | d | threads | global start s | passes | numpy s | ratio | whole solve s (global, no signs) | ' +
    'iterations | rel. error | global start with signs s | known-cell Newton s (centre) | iterations | rel. error |';
  const rows = results.map((r) => {
    const np = r.numpy && 'ratio' in r.numpy ? r.numpy : null;
    return `| ${[
      r.kind === 'wide' ? 'wide, mixed signs' : 'mixed signs, hidden',
      r.n,
      r.d,
      r.threads,
      r.globalStart?.seconds ?? r.global?.startSeconds ?? '-',
      r.globalStart?.passes ?? '-',
      np?.seconds ?? '-',
      np?.ratio ?? '-',
      r.global?.seconds ?? '-',
      r.global?.iterations ?? '-',
      r.global?.relError.toExponential(1) ?? '-',
      r.globalSigns ? `${r.globalSigns.seconds} (${r.globalSigns.iterations} it.)` : '-',
      r.knownCell?.seconds ?? '-',
      r.knownCell?.iterations ?? '-',
      r.knownCell?.relError.toExponential(1) ?? '-',
    ].join(' | ')} |`;
  });
  return [head, `|${'---|'.repeat(15)}`, ...rows].join('\n');
}

/** Runs every case in a child process, printing each line as it ends; returns them and prints the table. */
export function globalStartCases(quick: boolean, numpyMissing: string | null): GlobalCase[] {
  const self = fileURLToPath(import.meta.url);
  const cores = availableParallelism();
  const threadCounts = cores > 1 ? [1, cores] : [1];
  const runs: Array<[Kind, number, number, number]> = [];
  for (const n of quick ? [20000] : [20000, 100000, 1000000]) {
    for (const t of threadCounts) runs.push(['unknown', n, 20, t]);
  }
  for (const t of threadCounts) runs.push(['wide', 5000, 100, t]);
  const results: GlobalCase[] = [];
  for (const [kind, n, d, threads] of runs) {
    const args = [self, '--case', kind, String(n), String(d), String(threads)];
    if (!numpyMissing) args.push('--numpy');
    const result = JSON.parse(
      execFileSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 16 << 20 }),
    ) as GlobalCase;
    if (numpyMissing && kind === 'unknown') result.numpy = { skipped: numpyMissing };
    results.push(result);
    process.stdout.write(`${JSON.stringify({ bench: 'global-start', ...result })}\n`);
  }
  process.stdout.write(`\n${table(results)}\n\n`);
  return results;
}

function main(argv: string[]): void {
  if (argv[0] === '--case') {
    const [kind, n, d, threads] = argv.slice(1);
    const result = runCase(kind as Kind, Number(n), Number(d), Number(threads), argv.includes('--numpy'));
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const missing = argv.includes('--no-numpy') ? 'turned off (--no-numpy)' : numpyUnavailable();
  if (missing) process.stdout.write(`${JSON.stringify({ note: `numpy comparison skipped: ${missing}` })}\n`);
  globalStartCases(argv.includes('--quick'), missing);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main(process.argv.slice(2));
