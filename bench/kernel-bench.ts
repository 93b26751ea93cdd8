/**
 * `npm run bench:kernels`: the solver's row kernels, TypeScript reference against WebAssembly (SIMD), at
 * the analytic centre of a generated problem. One JSON line per shape and kernel set, then a table:
 *   hessianMs:   the exact Hessian (the O(n d^3) part and the row terms), model.derivatives(p, {hessian})
 *   iterationMs: one Newton iteration's arithmetic: the scores at x (QR included), the Hessian, and the
 *                gradient at the next point
 *   solve:       a whole Newton solve from the centre (seconds without the start, iterations, ms/iteration)
 * Each figure is the median of `--reps` runs (default 5), the two kernel sets taking turns.
 *
 * Usage: node dist-bench/bench/kernel-bench.js [--reps R] [--shapes 20000x20,100000x20,200x8] [--no-solve]
 */
import { generateProblem } from '#levinv/problem/generate.js';
import { parseProblem } from '#levinv/problem/parse.js';
import { findStart, type Problem, solve } from '#levinv/solver/index.js';
import { type KernelName, kernelsNamed, useKernels } from '#levinv/solver/kernels.js';
import { wasmLoadError } from '#levinv/solver/kernels-wasm.js';
import { LeverageModel } from '#levinv/solver/leverage-model.js';

interface Row {
  n: number;
  d: number;
  kernels: KernelName;
  hessianMs: number;
  iterationMs: number;
  solveSeconds?: number;
  iterations?: number;
  solveMsPerIteration?: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (v: number, digits = 2): number => Number(v.toPrecision(Math.max(digits, 3)));

function timeMs(f: () => void): number {
  const t = performance.now();
  f();
  return performance.now() - t;
}

function measure(problem: Problem, x: Float64Array, name: KernelName) {
  const kernels = kernelsNamed(name)!;
  const model = new LeverageModel(problem, undefined, kernels);
  const point = model.at(x);
  const hessianMs = timeMs(() => model.derivatives(point, { hessian: true }));
  const iterationMs = timeMs(() => {
    const p = model.at(x);
    model.derivatives(p, { hessian: true });
    model.derivatives(model.at(x), {});
  });
  return { hessianMs, iterationMs };
}

function main(argv: string[]): void {
  const arg = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const reps = Number(arg('--reps') ?? 5);
  const shapes = (arg('--shapes') ?? '20000x20,100000x20,200x8')
    .split(',')
    .map((s) => s.split('x').map(Number) as [number, number]);
  const withSolve = !argv.includes('--no-solve');
  if (!kernelsNamed('wasm')) throw new Error(`the WebAssembly kernels did not load: ${wasmLoadError()}`);
  const rows: Row[] = [];
  for (const [n, d] of shapes) {
    const { problem } = parseProblem(generateProblem({ n, d, seed: 1 }));
    const x = findStart(problem);
    const names: KernelName[] = ['js', 'wasm'];
    const samples = new Map(names.map((k) => [k, { hessian: [] as number[], iteration: [] as number[] }]));
    const solves = new Map(names.map((k) => [k, [] as Array<{ ms: number; iterations: number }>]));
    // one untimed round to warm the JIT up
    for (const k of names) measure(problem, x, k);
    for (let r = 0; r < reps; r++) {
      for (const k of names) {
        const m = measure(problem, x, k);
        samples.get(k)!.hessian.push(m.hessianMs);
        samples.get(k)!.iteration.push(m.iterationMs);
        if (withSolve) {
          useKernels(k);
          const result = solve({ ...problem, x0: x }, { method: 'newton' });
          solves.get(k)!.push({ ms: result.timings.solveMs, iterations: result.iterations });
        }
      }
    }
    useKernels('auto');
    for (const k of names) {
      const s = samples.get(k)!;
      const row: Row = {
        n,
        d,
        kernels: k,
        hessianMs: round(median(s.hessian)),
        iterationMs: round(median(s.iteration)),
      };
      if (withSolve) {
        const runs = solves.get(k)!;
        const ms = median(runs.map((r) => r.ms));
        row.solveSeconds = round(ms / 1000);
        row.iterations = runs[0].iterations;
        row.solveMsPerIteration = round(ms / Math.max(1, runs[0].iterations));
      }
      rows.push(row);
      process.stdout.write(`${JSON.stringify(row)}\n`);
    }
  }
  process.stdout.write(
    '\n| n | d | Hessian ms (js / wasm) | iteration ms (js / wasm) | speed-up | Newton solve s (js / wasm) |\n',
  );
  process.stdout.write('|---|---|---|---|---|---|\n');
  for (let i = 0; i < rows.length; i += 2) {
    const [js, w] = [rows[i], rows[i + 1]];
    const solveCell = withSolve ? `${js.solveSeconds} / ${w.solveSeconds} (${js.iterations} it.)` : '-';
    process.stdout.write(
      `| ${js.n} | ${js.d} | ${js.hessianMs} / ${w.hessianMs} | ${js.iterationMs} / ${w.iterationMs} | ` +
        `${round(js.iterationMs / w.iterationMs)}x | ${solveCell} |\n`,
    );
  }
}

main(process.argv.slice(2));
