/**
 * NumPy's `.npy` format (versions 1.0, 2.0 and 3.0) for float64 arrays: what `levinv generate --format npy`
 * writes and what a binary upload of a large problem carries, so 1e6 x 20 numbers travel as 160 MB of
 * doubles instead of ~400 MB of JSON. Only little-endian float64 in C order: a file in another dtype, byte
 * order or layout is refused with a message naming what it has (convert with `a.astype('<f8')`,
 * `np.ascontiguousarray`).
 *
 * Layout: the magic `\x93NUMPY`, major and minor version bytes, the header length (u16 in 1.0, u32 after),
 * a Python dict literal such as `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }` padded with
 * spaces and a newline, then the data. NumPy pads so that the data starts at a multiple of 64 bytes; other
 * writers need not, so the data may start at any byte.
 *
 * No Node Buffer anywhere: the typed client (src/client) writes and reads these bytes in browsers too.
 */

/** The .npy parts of a binary POST /solve (multipart/form-data); `json` is the other part, with the rest. */
export const NPY_PARTS = ['A', 'b', 'sigma', 'x0', 'signs', 'regularization', 'xStar'] as const;
export type NpyPart = (typeof NPY_PARTS)[number];

export class NpyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NpyError';
  }
}

export interface NpyArray {
  shape: number[];
  /**
   * a view on exactly the data's bytes when they are 8-byte aligned in the input's buffer (its `.buffer` is
   * the input's: go through byteOffset and byteLength), else a copy of just those bytes
   */
  data: Float64Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/**
 * The longest header read, in bytes. NumPy's np.load refuses headers over 10000 characters
 * (max_header_size) as unsafe to parse; its own writer never comes near that.
 */
export const MAX_HEADER_BYTES = 10_000;

interface Header {
  descr: string;
  fortran: boolean;
  shape: number[];
}

/**
 * The header dict, read by a scanner of the Python literal subset NumPy writes: `{`, string keys, the values
 * a string, True/False and a tuple of non-negative decimal integers, `,` separators (one trailing), `}`.
 * One pass, no backtracking, so its time is linear in the (capped) header. Whatever else Python would accept
 * (comments, escapes, implicit string concatenation, `1_000`) is refused rather than guessed at; the keys must
 * be exactly descr, fortran_order and shape, each once, as np.lib.format requires (Python keeps the last of a
 * repeated key; a reader that took the first would see another array than NumPy does).
 */
function readHeader(bytes: Uint8Array, name: string): Header {
  let at = 0;
  const fail = (what: string): never => {
    const found = at < bytes.length ? `'${printable(bytes[at])}' at byte ${at}` : 'the end';
    throw new NpyError(`${name}: bad .npy header: expected ${what}, found ${found}`);
  };
  // Inside the braces Python ignores line breaks; before and after them only blanks (and one line end).
  const skipSpace = (): void => {
    while (at < bytes.length && SPACE.has(bytes[at])) at++;
  };
  const expect = (char: string): void => {
    skipSpace();
    if (bytes[at] !== char.charCodeAt(0)) fail(`'${char}'`);
    at++;
  };
  const string = (): string => {
    skipSpace();
    const quote = bytes[at];
    if (quote !== QUOTE && quote !== DOUBLE_QUOTE) fail('a quoted string');
    const from = ++at;
    while (at < bytes.length && bytes[at] !== quote) {
      // plain printable ASCII only: no escapes, no line breaks, nothing that decodes differently in 1.0 and 3.0
      if (bytes[at] < 0x20 || bytes[at] > 0x7e || bytes[at] === BACKSLASH) fail('a plain ASCII string');
      at++;
    }
    if (at >= bytes.length) fail('the end of the string');
    return String.fromCharCode(...bytes.subarray(from, at++));
  };
  const word = (): string => {
    skipSpace();
    const from = at;
    while (at < bytes.length && WORD.test(String.fromCharCode(bytes[at]))) at++;
    return String.fromCharCode(...bytes.subarray(from, at));
  };
  const tuple = (): number[] => {
    expect('(');
    const dims: number[] = [];
    for (;;) {
      skipSpace();
      if (bytes[at] === CLOSE_PAREN) break;
      const digits = word();
      // Python's decimal integers (no sign, no leading zero, no `_`); 15 digits stay exact in a double
      if (!/^(0|[1-9]\d{0,14})$/.test(digits)) {
        at -= digits.length;
        fail('a dimension (a non-negative integer of at most 15 digits)');
      }
      dims.push(Number(digits));
      skipSpace();
      if (bytes[at] === COMMA) at++;
      // `(3)` is an int, not a tuple, in Python: a 1-d shape needs its comma
      else if (bytes[at] !== CLOSE_PAREN || dims.length === 1) fail("',' after the dimension");
    }
    at++;
    return dims;
  };

  while (at < bytes.length && (bytes[at] === SPACE_CHAR || bytes[at] === TAB)) at++;
  expect('{');
  const seen = new Map<string, unknown>();
  for (;;) {
    skipSpace();
    if (bytes[at] === CLOSE_BRACE) break;
    const key = string();
    if (!KEYS.includes(key)) {
      throw new NpyError(`${name}: bad .npy header: unexpected key '${key}' (expected ${KEYS.join(', ')})`);
    }
    if (seen.has(key)) throw new NpyError(`${name}: bad .npy header: the key '${key}' is given twice`);
    expect(':');
    if (key === 'descr') seen.set(key, string());
    else if (key === 'shape') seen.set(key, tuple());
    else {
      const value = word();
      if (value !== 'True' && value !== 'False') {
        at -= value.length;
        fail('True or False');
      }
      seen.set(key, value === 'True');
    }
    skipSpace();
    if (bytes[at] === COMMA) at++;
    else if (bytes[at] !== CLOSE_BRACE) fail("',' or '}'");
  }
  at++;
  // NumPy pads with spaces and ends with a newline
  while (at < bytes.length && (bytes[at] === SPACE_CHAR || bytes[at] === TAB)) at++;
  if (bytes[at] === CR) at++;
  if (bytes[at] === NEWLINE) at++;
  if (at !== bytes.length) fail('only padding after the dict');
  const missing = KEYS.filter((k) => !seen.has(k));
  if (missing.length > 0) throw new NpyError(`${name}: bad .npy header: no ${missing.join(', ')}`);
  return {
    descr: seen.get('descr') as string,
    fortran: seen.get('fortran_order') as boolean,
    shape: seen.get('shape') as number[],
  };
}

const KEYS = ['descr', 'fortran_order', 'shape'];
const [TAB, NEWLINE, FORM_FEED, CR, SPACE_CHAR] = [0x09, 0x0a, 0x0c, 0x0d, 0x20];
const [QUOTE, DOUBLE_QUOTE, BACKSLASH, COMMA] = [0x27, 0x22, 0x5c, 0x2c];
const [CLOSE_PAREN, CLOSE_BRACE] = [0x29, 0x7d];
const SPACE = new Set([TAB, NEWLINE, FORM_FEED, CR, SPACE_CHAR]);
const WORD = /[A-Za-z0-9_]/;
const printable = (byte: number): string =>
  byte >= 0x20 && byte <= 0x7e ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;

/** Parses one `.npy` file's bytes. Throws NpyError with a message that starts with `name`. */
export function parseNpy(bytes: Uint8Array, name: string): NpyArray {
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) {
    throw new NpyError(`${name}: not an .npy file (it does not start with \\x93NUMPY)`);
  }
  const [major, minor] = [bytes[6], bytes[7]];
  if (major < 1 || major > 3 || minor !== 0)
    throw new NpyError(`${name}: .npy version ${major}.${minor} is not supported (1.0, 2.0 and 3.0 are)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) throw new NpyError(`${name}: truncated .npy header`);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (headerLength > MAX_HEADER_BYTES) {
    throw new NpyError(
      `${name}: the .npy header is ${headerLength} bytes long; at most ${MAX_HEADER_BYTES} are read`,
    );
  }
  const start = 8 + lengthBytes + headerLength;
  if (bytes.length < start) throw new NpyError(`${name}: truncated .npy header`);
  // the subset read is ASCII, the same bytes in 1.0 and 2.0 (latin1) and 3.0 (UTF-8): no decoding needed
  const header = readHeader(bytes.subarray(8 + lengthBytes, start), name);
  if (header.descr !== '<f8') {
    const hint = header.descr === '>f8' ? 'big-endian float64' : `dtype '${header.descr}'`;
    throw new NpyError(
      `${name}: expected little-endian float64 ('<f8'), got ${hint}; convert with a.astype('<f8')`,
    );
  }
  if (header.fortran && header.shape.length > 1) {
    throw new NpyError(`${name}: expected C order, got Fortran order; convert with np.ascontiguousarray(a)`);
  }
  const count = header.shape.reduce((a, b) => a * b, 1);
  const available = bytes.length - start;
  if (available < count * 8) {
    throw new NpyError(
      `${name}: truncated: shape (${header.shape.join(', ')}) needs ${count * 8} bytes of data, got ${available}`,
    );
  }
  if (available > count * 8) throw new NpyError(`${name}: ${available - count * 8} bytes after the data`);
  return { shape: header.shape, data: readFloats(bytes, start, count) };
}

/**
 * `count` little-endian float64s at `start` of `bytes`: a view when they are 8-byte aligned in their buffer,
 * else a copy of exactly those bytes. Never `bytes.buffer` from 0: a small Node Buffer is a window on a
 * shared 8 KB pool that holds other requests' bytes.
 */
function readFloats(bytes: Uint8Array, start: number, count: number): Float64Array {
  const offset = bytes.byteOffset + start;
  if (LITTLE_ENDIAN && offset % 8 === 0) return new Float64Array(bytes.buffer, offset, count);
  const out = new Float64Array(count);
  if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(bytes.subarray(start, start + count * 8));
  else {
    const view = new DataView(bytes.buffer, offset, count * 8);
    for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
  }
  return out;
}

/** True where float64s are stored little-endian (every platform Node and browsers run on, in practice). */
const LITTLE_ENDIAN = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;

/**
 * Writes float64 `data` of `shape` as a version 1.0 `.npy` file (data 64-byte aligned, as NumPy does).
 * No Node Buffer: the typed client (src/client) sends these bytes from a browser too.
 */
export function npyBytes(data: Float64Array, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length)
    throw new RangeError(`shape (${shape.join(', ')}) does not hold ${data.length} values`);
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${dims}), }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64);
  header += '\n';
  const start = 10 + header.length;
  const out = new Uint8Array(start + data.length * 8);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  if (LITTLE_ENDIAN) out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), start);
  else for (let i = 0; i < data.length; i++) view.setFloat64(start + 8 * i, data[i], true);
  return out;
}
