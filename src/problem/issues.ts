/**
 * Turns zod's issues into InputIssues with messages written for people editing a JSON file: zod's
 * defaults ("Invalid input: expected number, received string") say neither what the value was nor,
 * for unions and unknown keys, what would have been accepted.
 */
import { z } from 'zod';
import { describeValue } from '../contract/describe.js';
import { InputError, type InputIssue, makeIssue, type PathSegment } from './errors.js';

const ARTICLE: Record<string, string> = {
  number: 'a number',
  int: 'an integer',
  array: 'an array',
  object: 'an object',
  boolean: 'a boolean',
  string: 'a string',
  tuple: 'an array',
};

function bound(
  issue: { origin?: string; inclusive?: boolean },
  limit: number | bigint,
  below: boolean,
): string {
  const what = issue.origin === 'int' ? 'an integer' : 'a number';
  // "> 0" for an integer reads better as ">= 1".
  if (issue.origin === 'int' && !issue.inclusive && typeof limit === 'number') {
    return `${what} ${below ? '>=' : '<='} ${below ? limit + 1 : limit - 1}`;
  }
  return `${what} ${below ? '>' : '<'}${issue.inclusive ? '=' : ''} ${limit}`;
}

/** Per-parse zod error map (`schema.safeParse(x, { error: errorMap })`); undefined keeps zod's message. */
export const errorMap: z.core.$ZodErrorMap = (issue) => {
  const got = describeValue(issue.input);
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'required';
      return `expected ${ARTICLE[issue.expected] ?? issue.expected}, got ${got}`;
    case 'too_small':
      if (issue.origin === 'array') return `expected at least ${issue.minimum} items, got ${got}`;
      return `expected ${bound(issue, issue.minimum, true)}, got ${got}`;
    case 'too_big':
      if (issue.origin === 'array') return `expected at most ${issue.maximum} items, got ${got}`;
      return `expected ${bound(issue, issue.maximum, false)}, got ${got}`;
    case 'invalid_value': {
      const options = issue.values.map((v) => JSON.stringify(v));
      return `expected ${options.length === 1 ? options[0] : `one of ${options.join(', ')}`}, got ${got}`;
    }
    default:
      return undefined;
  }
};

/** Looks through optional and union wrappers to the schemas that can actually hold a value. */
function expand(schema: z.ZodType): z.ZodType[] {
  let inner = schema;
  while (inner instanceof z.ZodOptional) inner = inner.unwrap() as z.ZodType;
  if (inner instanceof z.ZodUnion) return (inner.options as z.ZodType[]).flatMap(expand);
  return [inner];
}

/** The keys a strict object accepts at `path` inside `root`, found by walking the schema. */
function keysAt(root: z.ZodType, path: readonly PropertyKey[]): string[] {
  let candidates = expand(root);
  for (const segment of path) {
    candidates = candidates.flatMap((schema) =>
      schema instanceof z.ZodObject && typeof segment === 'string' && Object.hasOwn(schema.shape, segment)
        ? expand(schema.shape[segment] as z.ZodType)
        : [],
    );
  }
  const object = candidates.find((schema) => schema instanceof z.ZodObject);
  return object ? Object.keys(object.shape) : [];
}

/** Edit distance, for "did you mean" on misspelt keys (short strings only, so O(mn) is nothing). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

export function unknownKeyMessage(key: string, allowed: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of allowed) {
    const distance =
      candidate.toLowerCase() === key.toLowerCase()
        ? 0
        : editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best !== undefined && bestDistance <= Math.max(1, Math.floor(key.length / 4))) {
    return `unknown key (did you mean "${best}"?)`;
  }
  return allowed.length > 0 ? `unknown key; expected one of ${allowed.join(', ')}` : 'unknown key';
}

function toSegments(path: readonly PropertyKey[]): PathSegment[] {
  return path.map((segment) => (typeof segment === 'symbol' ? String(segment) : segment));
}

function flatten(
  issues: readonly z.core.$ZodIssue[],
  base: readonly PropertyKey[],
  root: z.ZodType,
  out: InputIssue[],
): void {
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      // One issue per key, at the key itself, so the pointer lands on the typo.
      const allowed = keysAt(root, path);
      for (const key of issue.keys)
        out.push(makeIssue(toSegments([...path, key]), unknownKeyMessage(key, allowed)));
    } else if (issue.code === 'invalid_union') {
      // The branch that got past its type test is the one the author meant (rows vs {shape, data},
      // a number vs per-row weights): report its issues rather than every branch's.
      const meant = issue.errors.find(
        (branch) => !branch.every((inner) => inner.path.length === 0 && inner.code === 'invalid_type'),
      );
      if (meant) flatten(meant, path, root, out);
      else out.push(makeIssue(toSegments(path), issue.message));
    } else {
      out.push(makeIssue(toSegments(path), issue.message));
    }
  }
}

/** Converts a failed parse of `root` into an InputError. */
export function inputErrorFromZod(error: z.ZodError, root: z.ZodType): InputError {
  const issues: InputIssue[] = [];
  flatten(error.issues, [], root, issues);
  return new InputError(issues);
}
