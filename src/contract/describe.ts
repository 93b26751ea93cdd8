/** Words for validation messages, shared by the problem schema (problem.ts) and the server's issue messages. */

/** `count(1, 'number')` -> `1 number`, `count(3, 'number')` -> `3 numbers`. */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** A short description of a JSON value for "got ..." phrases. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return value.length <= 40 ? JSON.stringify(value) : 'a string';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}
