/**
 * NumPy's `.npy` format (versions 1.0, 2.0 and 3.0) for float64 arrays: what `levinv generate --format npy`
 * writes and what a binary upload of a large problem carries, so 1e6 x 20 numbers travel as 160 MB of
 * doubles instead of ~400 MB of JSON. Only little-endian float64 in C order: a file in another dtype, byte
 * order or layout is refused with a message naming what it has (convert with `a.astype('<f8')`,
 * `np.ascontiguousarray`).
 *
 * Layout: the magic `\x93NUMPY`, major and minor version bytes, the header length (u16 in 1.0, u32 after),
 * a Python dict literal such as `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }` padded with
 * spaces and a newline so that the data starts at a multiple of 64 bytes, then the data.
 */

export class NpyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NpyError';
  }
}

export interface NpyArray {
  shape: number[];
  /** a view on the input bytes when they are 8-byte aligned there, else a copy */
  data: Float64Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** The header dict's three keys, read from their Python literal (no general parser needed). */
function readHeader(text: string, name: string): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text)?.[1];
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shape === undefined) {
    throw new NpyError(`${name}: not an .npy header (expected descr, fortran_order and shape)`);
  }
  const dims = shape
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (!dims.every((s) => /^\d{1,15}$/.test(s))) throw new NpyError(`${name}: bad shape (${shape})`);
  return { descr, fortran: fortran === 'True', shape: dims.map(Number) };
}

/** Parses one `.npy` file's bytes. Throws NpyError with a message that starts with `name`. */
export function parseNpy(bytes: Uint8Array, name: string): NpyArray {
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) {
    throw new NpyError(`${name}: not an .npy file (it does not start with \\x93NUMPY)`);
  }
  const major = bytes[6];
  if (major < 1 || major > 3)
    throw new NpyError(`${name}: .npy version ${major}.${bytes[7]} is not supported`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) throw new NpyError(`${name}: truncated .npy header`);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lengthBytes + headerLength;
  if (bytes.length < start) throw new NpyError(`${name}: truncated .npy header`);
  const header = readHeader(
    new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(8 + lengthBytes, start)),
    name,
  );
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
  const expected = start + count * 8;
  if (bytes.length < expected) {
    throw new NpyError(
      `${name}: truncated: shape (${header.shape.join(', ')}) needs ${count * 8} bytes of data, got ${bytes.length - start}`,
    );
  }
  if (bytes.length > expected) throw new NpyError(`${name}: ${bytes.length - expected} bytes after the data`);
  const offset = bytes.byteOffset + start;
  const data =
    offset % 8 === 0
      ? new Float64Array(bytes.buffer, offset, count)
      : new Float64Array(bytes.slice(start, expected).buffer);
  return { shape: header.shape, data };
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

/** npyBytes as a Buffer (no copy), for Node's streams, files and HTTP replies. */
export function encodeNpy(data: Float64Array, shape: readonly number[]): Buffer {
  const bytes = npyBytes(data, shape);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
