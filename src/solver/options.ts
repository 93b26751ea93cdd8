import type { SolveOptions } from './types.js';
/** Fills defaults and validates (SolverError INVALID_OPTION naming the option). */
export function resolveOptions(options: Partial<SolveOptions> = {}): SolveOptions {
  throw new Error(`not implemented yet ${Object.keys(options)}`);
}
