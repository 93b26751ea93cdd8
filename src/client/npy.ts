/**
 * Arrays as `.npy` bytes for a binary upload, without Node's Buffer (src/problem/npy.ts's encodeNpy uses it),
 * so a browser can send a Float64Array as it is: the same version 1.0 layout, byte for byte.
 */
import type { NpyValue } from './types.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** float64 `data` of `shape` as a version 1.0 `.npy` file (little-endian, C order, data 64-byte aligned). */
export function npyBytes(data: Float64Array, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new RangeError(`shape (${shape.join(', ')}) does not hold ${data.length} values`);
  }
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${dims}), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64);
  header += '\n';
  const out = new Uint8Array(10 + header.length + data.length * 8);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const start = 10 + header.length;
  for (let i = 0; i < data.length; i++) view.setFloat64(start + 8 * i, data[i], true);
  return out;
}

const blob = (bytes: Uint8Array): Blob => new Blob([bytes as Uint8Array<ArrayBuffer>]);

/** One .npy part as a Blob: bytes as they are, numbers (arrays, rows, a Float64Array) encoded. */
export function npyPart(value: NpyValue): Blob {
  if (value instanceof Blob) return value;
  if (value instanceof Float64Array) return blob(npyBytes(value, [value.length]));
  if (value instanceof Uint8Array) return blob(value);
  if (value instanceof ArrayBuffer) return blob(new Uint8Array(value));
  if (!Array.isArray(value)) {
    const { data, shape } = value as { data: Float64Array; shape: readonly number[] };
    return blob(npyBytes(data, shape));
  }
  if (value.length > 0 && Array.isArray(value[0])) {
    const rows = value as readonly (readonly number[])[];
    const d = rows[0].length;
    if (rows.some((row) => row.length !== d)) {
      throw new RangeError(`rows of different lengths: expected ${d} numbers in each`);
    }
    return blob(npyBytes(Float64Array.from(rows.flat()), [rows.length, d]));
  }
  const flat = value as readonly number[];
  return blob(npyBytes(Float64Array.from(flat), [flat.length]));
}
