/**
 * `node dist-bench/bench/start-bench.js`: the default start point (the analytic centre, start-point.ts) and the
 * small-problem solve it is part of. Prints one JSON line per measurement:
 * - the 200 x 8 solve (generated, seed 1, Newton): medians of the last 300 of 400 solves, total and start;
 * - the start point alone at n x 20 for n = 2000, 20000, 100000: median of 5 after one warm-up run.
 * Timings only, never a pass/fail; compare runs on the same machine, in the same load.
 */
import { generateProblem } from '#levinv/problem/generate.js';
import { parseProblem } from '#levinv/problem/parse.js';
import { currentKernels, resolveOptions, solve } from '#levinv/solver/index.js';
import { analyticCentre } from '#levinv/solver/start-point.js';

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
};
const print = (line: object): boolean => process.stdout.write(`${JSON.stringify(line)}\n`);

{
  const { problem, options } = parseProblem(generateProblem({ n: 200, d: 8, seed: 1 }));
  const opts = resolveOptions({ ...options, method: 'newton' });
  const total: number[] = [];
  const start: number[] = [];
  for (let r = 0; r < 400; r++) {
    const began = performance.now();
    const result = solve(problem, opts);
    total.push(performance.now() - began);
    start.push(result.timings.startMs);
  }
  print({
    what: 'solve 200 x 8 (newton)',
    kernels: currentKernels().name,
    medianMs: +median(total.slice(100)).toFixed(3),
    startMedianMs: +median(start.slice(100)).toFixed(3),
  });
}

for (const n of [2000, 20000, 100000]) {
  const { problem } = parseProblem(generateProblem({ n, d: 20, seed: 1 }));
  analyticCentre(problem);
  const times: number[] = [];
  for (let r = 0; r < 5; r++) {
    const began = performance.now();
    analyticCentre(problem);
    times.push(performance.now() - began);
  }
  print({
    what: `start point ${n} x 20`,
    kernels: currentKernels().name,
    medianMs: +median(times).toFixed(1),
  });
}
