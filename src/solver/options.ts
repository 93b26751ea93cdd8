/** Solver options: defaults and validation. */
import { SolverError } from './errors.js';
import { LINE_SEARCHES, METHODS, type SolveOptions, START_CHOICES } from './types.js';

const DEFAULT_MAX_ITERATIONS = { newton: 100, 'gauss-newton': 100, gd: 20_000 } as const;
/** RecordOptions.limit when not given: bounds the result (10000 iterates with x at d = 100 are ~8 MB). */
export const DEFAULT_RECORD_LIMIT = 10_000;

/** Fills defaults and validates (SolverError INVALID_OPTION naming the option). */
export function resolveOptions(options: Partial<SolveOptions> = {}): SolveOptions {
  const method = options.method ?? 'newton';
  if (!METHODS.includes(method)) {
    throw invalid('method', `method must be one of ${METHODS.join(', ')}, got ${String(method)}`);
  }
  const lineSearch = options.lineSearch ?? 'armijo';
  if (!LINE_SEARCHES.includes(lineSearch)) {
    throw invalid(
      'lineSearch',
      `lineSearch must be one of ${LINE_SEARCHES.join(', ')}, got ${String(lineSearch)}`,
    );
  }
  const start = options.start ?? 'global';
  if (!START_CHOICES.includes(start)) {
    throw invalid('start', `start must be one of ${START_CHOICES.join(', ')}, got ${String(start)}`);
  }
  const resolved: SolveOptions = {
    start,
    method,
    lineSearch,
    maxIterations: options.maxIterations ?? DEFAULT_MAX_ITERATIONS[method],
    tolerance: options.tolerance ?? 1e-10,
    lossChangeTolerance: options.lossChangeTolerance ?? 0,
    maxSeconds: options.maxSeconds ?? Infinity,
    stepSize: options.stepSize ?? 1,
    record: {
      every: options.record?.every ?? 1,
      includeX: options.record?.includeX ?? true,
      limit: options.record?.limit ?? DEFAULT_RECORD_LIMIT,
    },
  };
  if (!(Number.isInteger(resolved.maxIterations) && resolved.maxIterations >= 0)) {
    throw invalid('maxIterations', `maxIterations must be an integer >= 0, got ${resolved.maxIterations}`);
  }
  for (const key of ['tolerance', 'lossChangeTolerance'] as const) {
    if (!(Number.isFinite(resolved[key]) && resolved[key] >= 0)) {
      throw invalid(key, `${key} must be a finite number >= 0, got ${resolved[key]}`);
    }
  }
  if (!(resolved.maxSeconds > 0)) {
    throw invalid('maxSeconds', `maxSeconds must be > 0, got ${resolved.maxSeconds}`);
  }
  if (!(Number.isFinite(resolved.stepSize) && resolved.stepSize > 0)) {
    throw invalid('stepSize', `stepSize must be a finite number > 0, got ${resolved.stepSize}`);
  }
  if (!(Number.isInteger(resolved.record.every) && resolved.record.every >= 1)) {
    throw invalid('record.every', `record.every must be an integer >= 1, got ${resolved.record.every}`);
  }
  if (!(Number.isInteger(resolved.record.limit) && resolved.record.limit >= 1)) {
    throw invalid('record.limit', `record.limit must be an integer >= 1, got ${resolved.record.limit}`);
  }
  return resolved;
}

function invalid(field: string, message: string): SolverError {
  return new SolverError('INVALID_OPTION', message, field);
}
