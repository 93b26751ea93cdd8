/**
 * InputError: a problem document that does not validate. It carries every issue found, each with a
 * human path (`A[3]`, `options.maxIterations`) for messages and an RFC 6901 pointer (`/A/3`) for
 * machine consumers such as an HTTP problem+json response.
 */

export interface InputIssue {
  /** `A[3]`, `options.maxIterations`, `sigma[7]`; '' for the document itself */
  path: string;
  /** RFC 6901 JSON pointer, e.g. `/A/3`; '' for the document itself */
  pointer: string;
  message: string;
}

export type PathSegment = string | number;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `['options', 'record', 'every']` -> `options.record.every`; `['A', 3]` -> `A[3]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === '' ? segment : `.${segment}`;
    // Keys that are not identifiers (a typo like "max iterations") stay readable and unambiguous.
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** RFC 6901: `~` is escaped first so that the `~1` produced for `/` is not re-escaped. */
export function toPointer(path: readonly PathSegment[]): string {
  return path.map((segment) => `/${String(segment).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

export function makeIssue(path: readonly PathSegment[], message: string): InputIssue {
  return { path: formatPath(path), pointer: toPointer(path), message };
}

/** One line: the first issue, and how many more there are. */
export function summarizeIssues(issues: readonly InputIssue[]): string {
  if (issues.length === 0) return 'invalid input';
  const first = issues[0];
  const head = first.path === '' ? first.message : `${first.path}: ${first.message}`;
  const more = issues.length - 1;
  if (more === 0) return head;
  return `${head} (and ${more} more problem${more === 1 ? '' : 's'})`;
}

export class InputError extends Error {
  readonly issues: InputIssue[];

  constructor(issues: InputIssue[]) {
    super(summarizeIssues(issues));
    this.name = 'InputError';
    this.issues = issues;
  }
}
