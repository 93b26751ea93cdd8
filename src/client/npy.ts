/**
 * `.npy` parts for a binary upload. The bytes come from the contract's npyBytes (src/contract/npy.ts), which
 * needs no Node Buffer, so a browser can send a Float64Array as it is; its parseNpy (no Buffer either) reads
 * .npy bytes back, as the service reads an upload.
 */
import { type NpyArray, npyBytes, parseNpy } from '../contract/npy.js';
import type { NpyValue } from './types.js';

export { type NpyArray, npyBytes, parseNpy };

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
