/**
 * Exit codes (BSD sysexits, so scripts can tell a bad command line from bad data from a bad file) and the
 * one error type the CLI's own checks throw.
 */
import { InputError, type InputIssue } from '../problem/errors.js';
import { SolverError } from '../solver/index.js';

export const EXIT_OK = 0;
/** unknown command or flag, missing or invalid flag value (EX_USAGE) */
export const EXIT_USAGE = 64;
/** malformed JSON, input that fails validation, a problem the solver rejects (EX_DATAERR) */
export const EXIT_DATA = 65;
/** the input file does not exist or cannot be read (EX_NOINPUT) */
export const EXIT_NO_INPUT = 66;
/** numerical breakdown in the solver, or any unexpected error (EX_SOFTWARE) */
export const EXIT_SOFTWARE = 70;
/** the --out file cannot be written (EX_CANTCREAT) */
export const EXIT_CANT_CREATE = 73;

/** An error whose exit code and message the CLI chose itself; `more`: further lines (other bad fields). */
export class CliError extends Error {
  readonly exitCode: number;
  readonly more: string[];

  constructor(exitCode: number, message: string, more: string[] = []) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.more = more;
  }
}

/** stderr gets exactly one line per error, whatever the message contains. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** True when `message` already opens with `field` as a word ("x0 lies on a wall", but not "A_x has ..."). */
function namesField(message: string, field: string): boolean {
  return message.startsWith(field) && !/^[A-Za-z0-9_$]/.test(message.slice(field.length));
}

/** One issue as a line: `A[3]: expected 2 numbers, got 1`. */
export function issueLine(issue: InputIssue): string {
  return oneLine(issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`);
}

/**
 * Maps anything thrown by a command to its exit code and the text after `levinv: `: `message`, and in
 * `lines` every line to print (several when a document has several bad fields: all of them are listed, as
 * the API's problem+json `errors` lists them).
 */
export function classifyError(error: unknown): { exitCode: number; message: string; lines: string[] } {
  const single = (exitCode: number, message: string) => ({ exitCode, message, lines: [message] });
  if (error instanceof CliError) {
    const message = oneLine(error.message);
    return { exitCode: error.exitCode, message, lines: [message, ...error.more.map(oneLine)] };
  }
  if (error instanceof InputError) {
    const lines = error.issues.length > 0 ? error.issues.map(issueLine) : [oneLine(error.message)];
    return { exitCode: EXIT_DATA, message: oneLine(error.message), lines };
  }
  if (error instanceof SolverError) {
    const field = error.field;
    const message = field && !namesField(error.message, field) ? `${field}: ${error.message}` : error.message;
    // A breakdown is the solver failing on data it accepted: a bug or a limit, not the user's input.
    const exitCode = error.code === 'NUMERICAL_BREAKDOWN' ? EXIT_SOFTWARE : EXIT_DATA;
    return single(exitCode, oneLine(message));
  }
  const message = error instanceof Error ? error.message : String(error);
  return single(EXIT_SOFTWARE, oneLine(`internal error: ${message}`));
}
