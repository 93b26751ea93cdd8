/** The client's Buffer-free .npy encoder writes what src/problem/npy.ts writes, and parses back. */
import { describe, expect, it } from 'vitest';
import { parseNpy as clientParseNpy, npyBytes } from '../../src/client/index.js';
import { npyPart } from '../../src/client/npy.js';
import { encodeNpy, parseNpy } from '../../src/problem/npy.js';

describe('npyBytes', () => {
  it('is byte for byte encodeNpy, for vectors and matrices of several sizes', () => {
    for (const shape of [[1], [7], [300], [3, 2], [40, 5], [1, 1]]) {
      const count = shape.reduce((a, b) => a * b, 1);
      const data = Float64Array.from({ length: count }, (_, i) => Math.sin(i + 1) * 10 ** (i % 7) - 0.5);
      const ours = npyBytes(data, shape);
      expect(Buffer.from(ours).equals(encodeNpy(data, shape)), `shape ${shape}`).toBe(true);
      const back = parseNpy(ours, 'x');
      expect(back.shape).toEqual(shape);
      expect(Array.from(back.data)).toEqual(Array.from(data));
    }
    // non-finite numbers survive as they are
    const odd = Float64Array.of(Number.NaN, Number.POSITIVE_INFINITY, -0);
    expect(Array.from(parseNpy(npyBytes(odd, [3]), 'x').data)).toEqual([
      Number.NaN,
      Number.POSITIVE_INFINITY,
      -0,
    ]);
  });

  it('refuses a shape that does not hold the data', () => {
    expect(() => npyBytes(new Float64Array(5), [2, 2])).toThrow('shape (2, 2) does not hold 5 values');
  });
});

describe('npyPart', () => {
  const bytesOf = async (blob: Blob) => new Uint8Array(await blob.arrayBuffer());

  it('encodes rows as an n x d matrix, arrays and Float64Arrays as vectors, and passes bytes through', async () => {
    const rows = [
      [1, 2],
      [3, 4],
      [5, 6],
    ];
    const matrix = parseNpy(await bytesOf(npyPart(rows)), 'A');
    expect(matrix.shape).toEqual([3, 2]);
    expect(Array.from(matrix.data)).toEqual([1, 2, 3, 4, 5, 6]);
    const typed = parseNpy(
      await bytesOf(npyPart({ data: Float64Array.of(1, 2, 3, 4, 5, 6), shape: [2, 3] })),
      'A',
    );
    expect(typed.shape).toEqual([2, 3]);
    expect(parseNpy(await bytesOf(npyPart([0.5, 0.25])), 'b').shape).toEqual([2]);
    expect(Array.from(parseNpy(await bytesOf(npyPart(Float64Array.of(7, 8))), 'b').data)).toEqual([7, 8]);
    const raw = encodeNpy(Float64Array.of(9), [1]);
    expect(Buffer.from(await bytesOf(npyPart(raw))).equals(raw)).toBe(true);
    expect(Buffer.from(await bytesOf(npyPart(Uint8Array.from(raw).buffer))).equals(raw)).toBe(true);
  });

  it('refuses ragged rows (they are no matrix)', () => {
    expect(() => npyPart([[1, 2], [3]])).toThrow('rows of different lengths: expected 2 numbers in each');
  });
});

describe('parseNpy (the client export)', () => {
  it('reads back what npyBytes writes, shape and numbers, from a plain Uint8Array', () => {
    const bytes = Uint8Array.from(npyBytes(Float64Array.of(1, -1, 1, 1, -1, 0.25), [3, 2]));
    const { shape, data } = clientParseNpy(bytes, 'signs.npy');
    expect(shape).toEqual([3, 2]);
    expect(Array.from(data)).toEqual([1, -1, 1, 1, -1, 0.25]);
  });

  it('refuses what the service refuses, naming the file: not .npy, another dtype', () => {
    expect(() => clientParseNpy(new TextEncoder().encode('{"sigma": [1]}'), 'sigma.npy')).toThrow(
      'sigma.npy: not an .npy file (it does not start with \\x93NUMPY)',
    );
    // the same file saying float32: refused, not read as float64
    const text = String.fromCharCode(...npyBytes(Float64Array.of(1), [1]));
    const f4 = Uint8Array.from(text.replace("'<f8'", "'<f4'"), (c) => c.charCodeAt(0));
    expect(() => clientParseNpy(f4, 'xStar.npy')).toThrow(
      "xStar.npy: expected little-endian float64 ('<f8'), got dtype '<f4'; convert with a.astype('<f8')",
    );
  });
});
