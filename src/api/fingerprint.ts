/**
 * The request digest an Idempotency-Key is bound to. It is taken over the parsed problem (shape, the
 * Float64 buffers, options) rather than the raw bytes, so a retry that re-serialises the same numbers
 * differently (whitespace, A as rows vs { shape, data }) is still the same request.
 */
import { createHash, type Hash } from 'node:crypto';
import type { ParsedProblem } from '../problem/parse.js';

function addArray(hash: Hash, tag: string, array: ArrayBufferView | number | undefined): void {
  if (array === undefined) {
    hash.update(`${tag}:-;`);
  } else if (typeof array === 'number') {
    hash.update(`${tag}:n${array};`);
  } else {
    hash.update(`${tag}:${array.byteLength};`);
    hash.update(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
  }
}

/** JSON with sorted keys, so that option order does not matter. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function fingerprint({ problem, options, xStar }: ParsedProblem, webhook?: object): string {
  const hash = createHash('sha256');
  hash.update(`levinv/1;n=${problem.n};d=${problem.d};`);
  addArray(hash, 'A', problem.A);
  addArray(hash, 'b', problem.b);
  addArray(hash, 'sigma', problem.sigma);
  addArray(hash, 'signs', problem.signs);
  addArray(hash, 'x0', problem.x0);
  addArray(hash, 'w', problem.regularization);
  addArray(hash, 'xStar', xStar);
  hash.update(`options:${canonicalJson(options)}`);
  // absent: the digest of a request without a webhook is what it always was
  if (webhook) hash.update(`;webhook:${canonicalJson(webhook)}`);
  return hash.digest('hex');
}
