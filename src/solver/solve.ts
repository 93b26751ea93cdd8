import type { Problem, SolveHooks, SolveOptions, SolveResult } from './types.js';
/** Solves an inverse leverage score problem (see MATH.md). Throws SolverError for bad or ill-posed input. */
export function solve(problem: Problem, options: Partial<SolveOptions> = {}, hooks: SolveHooks = {}): SolveResult {
  throw new Error(`not implemented yet ${problem.n} ${Object.keys(options)} ${Object.keys(hooks)}`);
}
