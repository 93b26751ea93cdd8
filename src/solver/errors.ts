/**
 * Errors the solver raises for problems it cannot or will not solve. Each has a stable `code` so callers
 * (CLI exit codes, HTTP problem types, job failure records) can map them without parsing messages.
 */
export type SolverErrorCode =
  | 'SHAPE_MISMATCH'
  | 'NON_FINITE'
  | 'SIGMA_OUT_OF_RANGE'
  | 'TOO_FEW_ROWS'
  | 'RANK_DEFICIENT'
  | 'INVALID_SIGNS'
  | 'INVALID_OPTION'
  | 'X0_ON_WALL'
  | 'X0_OUTSIDE_CELL'
  | 'EMPTY_CELL'
  | 'UNBOUNDED_CELL'
  | 'NUMERICAL_BREAKDOWN'
  /** hooks.signal aborted before the first iterate existed */
  | 'ABORTED'
  /** maxSeconds ran out before the first iterate existed (the start-point search) */
  | 'TIME_LIMIT';

export class SolverError extends Error {
  readonly code: SolverErrorCode;
  /** the input field the error is about, when there is one (`A`, `b`, `sigma`, `x0`, `signs`, ...) */
  readonly field: string | undefined;

  constructor(code: SolverErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'SolverError';
    this.code = code;
    this.field = field;
  }
}
