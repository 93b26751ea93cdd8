/**
 * The problem as one binary blob: the Float64 buffers back to back, so a 100000 x 20 problem is 16 MB in
 * Redis rather than ~45 MB of JSON, and the worker thread reads it without parsing.
 *
 * Layout (little-endian; every section 8-byte aligned):
 *   header   8 x f64: [version, n, d, flags, regularization kind, 0, 0, 0]
 *   A        n*d f64 (row-major)
 *   b        n f64
 *   sigma    n f64
 *   x0       d f64            when flags & X0
 *   reg      1 or n f64       when kind is 1 (one weight) or 2 (one per row)
 *   xStar    d f64            when flags & XSTAR
 *   signs    n i8             when flags & SIGNS (last, so it needs no padding)
 */
import { endianness } from 'node:os';
import type { Problem } from '../solver/index.js';

const VERSION = 1;
const HEADER = 8;
const SIGNS = 1;
const X0 = 2;
const XSTAR = 4;

export interface BlobContents {
  problem: Problem;
  xStar?: Float64Array;
}

function checkEndianness(): void {
  // Typed arrays use the platform's byte order; every platform Node supports today is little-endian.
  if (endianness() !== 'LE') throw new Error('problem blobs need a little-endian platform');
}

function checkLength(name: string, array: ArrayLike<number>, expected: number): void {
  if (array.length !== expected) {
    throw new RangeError(`problem blob: ${name} has length ${array.length}, expected ${expected}`);
  }
}

export function encodeProblem(problem: Problem, xStar?: Float64Array): Buffer {
  checkEndianness();
  const { n, d } = problem;
  checkLength('A', problem.A, n * d);
  checkLength('b', problem.b, n);
  checkLength('sigma', problem.sigma, n);
  if (problem.x0) checkLength('x0', problem.x0, d);
  if (problem.signs) checkLength('signs', problem.signs, n);
  if (xStar) checkLength('xStar', xStar, d);
  const reg = problem.regularization;
  const regKind = reg === undefined ? 0 : typeof reg === 'number' ? 1 : 2;
  if (typeof reg === 'object') checkLength('regularization', reg, n);

  const floats =
    HEADER +
    n * d +
    2 * n +
    (problem.x0 ? d : 0) +
    (regKind === 1 ? 1 : regKind === 2 ? n : 0) +
    (xStar ? d : 0);
  const bytes = floats * 8 + (problem.signs ? n : 0);
  const buffer = new ArrayBuffer(bytes);
  const f = new Float64Array(buffer, 0, floats);
  const flags = (problem.signs ? SIGNS : 0) | (problem.x0 ? X0 : 0) | (xStar ? XSTAR : 0);
  f.set([VERSION, n, d, flags, regKind, 0, 0, 0]);
  let at = HEADER;
  const put = (values: ArrayLike<number>): void => {
    f.set(values, at);
    at += values.length;
  };
  put(problem.A);
  put(problem.b);
  put(problem.sigma);
  if (problem.x0) put(problem.x0);
  if (typeof reg === 'number') put([reg]);
  else if (reg) put(reg);
  if (xStar) put(xStar);
  if (problem.signs) new Int8Array(buffer, floats * 8, n).set(problem.signs);
  return Buffer.from(buffer);
}

/**
 * Reads a blob back. `buffer` must be 8-byte aligned (an ArrayBuffer of its own); the returned arrays are
 * views into it, so nothing is copied.
 */
export function decodeProblem(buffer: ArrayBuffer): BlobContents {
  checkEndianness();
  if (buffer.byteLength < HEADER * 8) throw new RangeError('problem blob: too short for its header');
  const header = new Float64Array(buffer, 0, HEADER);
  const [version, n, d, flags, regKind] = header;
  if (version !== VERSION) throw new RangeError(`problem blob: unknown version ${version}`);
  const floats =
    HEADER +
    n * d +
    2 * n +
    (flags & X0 ? d : 0) +
    (regKind === 1 ? 1 : regKind === 2 ? n : 0) +
    (flags & XSTAR ? d : 0);
  const bytes = floats * 8 + (flags & SIGNS ? n : 0);
  if (buffer.byteLength !== bytes) {
    throw new RangeError(`problem blob: ${buffer.byteLength} bytes, expected ${bytes} for ${n} x ${d}`);
  }
  let at = HEADER * 8;
  const take = (length: number): Float64Array => {
    const view = new Float64Array(buffer, at, length);
    at += length * 8;
    return view;
  };
  const problem: Problem = { n, d, A: take(n * d), b: take(n), sigma: take(n) };
  if (flags & X0) problem.x0 = take(d);
  if (regKind === 1) problem.regularization = take(1)[0];
  else if (regKind === 2) problem.regularization = take(n);
  const xStar = flags & XSTAR ? take(d) : undefined;
  if (flags & SIGNS) problem.signs = new Int8Array(buffer, at, n);
  return xStar ? { problem, xStar } : { problem };
}

/** A copy of `data` in an ArrayBuffer of its own: Buffers from a socket may sit at any offset in a pool. */
export function toAlignedArrayBuffer(data: Uint8Array): ArrayBuffer {
  const buffer = new ArrayBuffer(data.byteLength);
  new Uint8Array(buffer).set(data);
  return buffer;
}
