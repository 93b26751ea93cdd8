/** The solver's public surface: everything outside src/solver imports from here. */
export { SolverError, type SolverErrorCode } from './errors.js';
export {
  currentKernels,
  KERNEL_CHOICES,
  type KernelChoice,
  type KernelName,
  parseKernelChoice,
  useKernels,
} from './kernels.js';
export { leverageScores } from './leverage.js';
export { estimateSolveBytes } from './memory.js';
export { DEFAULT_RECORD_LIMIT, resolveOptions } from './options.js';
export { solve } from './solve.js';
export { findStart } from './start-point.js';
export * from './types.js';
