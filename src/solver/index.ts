/** The solver's public surface: everything outside src/solver imports from here. */
export { SolverError, type SolverErrorCode } from './errors.js';
export {
  currentKernels,
  defaultSolverThreads,
  KERNEL_CHOICES,
  type KernelChoice,
  type KernelName,
  MAX_SOLVER_THREADS,
  parseKernelChoice,
  solverThreads,
  useKernels,
  useSolverThreads,
} from './kernels.js';
export { leverageScores } from './leverage.js';
export { estimateSolveBytes } from './memory.js';
export { DEFAULT_RECORD_LIMIT, resolveOptions } from './options.js';
export { solve } from './solve.js';
export { findStart } from './start-point.js';
export * from './types.js';
