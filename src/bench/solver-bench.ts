/**
 * `npm run bench`: solver figures, one JSON line per case:
 *   {method, n, d, iterations, seconds, startSeconds, msPerIteration, peakRssMb, relError}
 * Each case runs in its own child process so that peakRssMb (the OS's max resident set size) belongs to that
 * case alone. `seconds` is the whole solve including the start point (phase I and the analytic centre);
 * msPerIteration excludes the start. A final line checks that the per-iteration time grows linearly in n.
 *
 * Usage: node dist/bench/solver-bench.js [--quick]     (--quick skips the n = 100000 cases)
 *        node dist/bench/solver-bench.js --case METHOD N D SEED   (one case, used by the parent)
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generateProblem } from '../problem/generate.js';
import { parseProblem } from '../problem/parse.js';
import { DEFAULT_RECORD_LIMIT, type Method, solve } from '../solver/index.js';

interface CaseResult {
  method: Method;
  n: number;
  d: number;
  iterations: number;
  seconds: number;
  startSeconds: number;
  msPerIteration: number;
  peakRssMb: number;
  relError: number;
  converged: boolean;
}

function runCase(method: Method, n: number, d: number, seed: number): CaseResult {
  const { problem, options, xStar } = parseProblem(generateProblem({ n, d, seed }));
  const result = solve(problem, {
    ...options,
    method,
    record: { every: 1, includeX: false, limit: DEFAULT_RECORD_LIMIT },
  });
  let num = 0;
  let den = 0;
  for (let j = 0; j < d; j++) {
    num += (result.x[j] - xStar![j]) ** 2;
    den += xStar![j] ** 2;
  }
  return {
    method,
    n,
    d,
    iterations: result.iterations,
    seconds: round(result.timings.totalMs / 1000, 3),
    startSeconds: round(result.timings.startMs / 1000, 3),
    msPerIteration: round(result.timings.solveMs / Math.max(result.iterations, 1), 1),
    // maxRSS is in kilobytes.
    peakRssMb: round(process.resourceUsage().maxRSS / 1024, 1),
    relError: Number(Math.sqrt(num / den).toPrecision(3)),
    converged: result.converged,
  };
}

const round = (v: number, digits: number): number => Number(v.toFixed(digits));

function main(argv: string[]): void {
  if (argv[0] === '--case') {
    const [method, n, d, seed] = argv.slice(1);
    process.stdout.write(
      `${JSON.stringify(runCase(method as Method, Number(n), Number(d), Number(seed)))}\n`,
    );
    return;
  }
  const quick = argv.includes('--quick');
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
  for (const [method, n, d] of cases) {
    const out = execFileSync(process.execPath, [self, '--case', method, String(n), String(d), '1'], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    const result = JSON.parse(out) as CaseResult;
    results.push(result);
    process.stdout.write(out);
  }
  // Linear growth: Newton's ms per iteration divided by n, at d = 20, should stay about constant.
  const scaling = results
    .filter((r) => r.method === 'newton' && r.d === 20)
    .map((r) => ({ n: r.n, usPerIterationPerRow: round((1000 * r.msPerIteration) / r.n, 3) }));
  process.stdout.write(
    `${JSON.stringify({ scaling: 'newton, d = 20, microseconds per iteration per row', points: scaling })}\n`,
  );
}

main(process.argv.slice(2));
