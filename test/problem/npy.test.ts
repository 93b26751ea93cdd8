/** The .npy reader and writer, checked against NumPy itself (python3 with numpy; skipped without it). */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeNpy, NpyError, parseNpy } from '../../src/problem/npy.js';

const dir = mkdtempSync(join(tmpdir(), 'levinv-npy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hasNumpy = spawnSync('python3', ['-c', 'import numpy']).status === 0;

const python = (code: string): string => execFileSync('python3', ['-c', code], { encoding: 'utf8' });

describe('encodeNpy / parseNpy', () => {
  it('round-trips vectors and matrices, data 64-byte aligned', () => {
    const data = Float64Array.from({ length: 12 }, (_, i) => i * 0.5 - 1e-300);
    for (const shape of [[12], [4, 3], [1, 12]]) {
      const bytes = encodeNpy(data, shape);
      expect((bytes.length - 12 * 8) % 64).toBe(0);
      const back = parseNpy(new Uint8Array(bytes), 'A');
      expect(back.shape).toEqual(shape);
      expect([...back.data]).toEqual([...data]);
    }
    expect(() => encodeNpy(data, [5, 2])).toThrow(/does not hold 12 values/);
  });

  it('copies data that is not 8-byte aligned in its buffer instead of failing', () => {
    const bytes = encodeNpy(Float64Array.of(1, 2, 3), [3]);
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    expect([...parseNpy(shifted.subarray(1), 'b').data]).toEqual([1, 2, 3]);
  });

  it('refuses what is not little-endian float64 in C order, truncated or padded, naming the file', () => {
    const good = encodeNpy(Float64Array.of(1, 2, 3, 4), [2, 2]);
    const header = good.subarray(0, good.length - 32).toString('latin1');
    const withHeader = (text: string) => {
      const out = Buffer.from(good);
      out.write(text.padEnd(header.length - 10 - 1, ' '), 10, 'latin1');
      return new Uint8Array(out);
    };
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array(Buffer.from('{"A": [[1]]}')), /^A: not an \.npy file/],
      [good.subarray(0, 9), /^A: not an \.npy file/],
      [good.subarray(0, 40), /^A: truncated \.npy header/],
      [good.subarray(0, good.length - 1), /^A: truncated: shape \(2, 2\) needs 32 bytes of data, got 31/],
      [Buffer.concat([good, Buffer.alloc(8)]), /^A: 8 bytes after the data/],
      [withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }"), /dtype '<f4'/],
      [withHeader("{'descr': '>f8', 'fortran_order': False, 'shape': (2, 2), }"), /big-endian float64/],
      [withHeader("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }"), /Fortran order/],
      [
        withHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (2, x), }"),
        /bad \.npy header: expected a dimension/,
      ],
      [withHeader('{}'), /bad \.npy header: no descr, fortran_order, shape/],
    ];
    for (const [bytes, message] of cases) {
      expect(() => parseNpy(bytes, 'A')).toThrow(NpyError);
      expect(() => parseNpy(bytes, 'A')).toThrow(message);
    }
    const v9 = Buffer.from(good);
    v9[6] = 9;
    expect(() => parseNpy(new Uint8Array(v9), 'A')).toThrow(/version 9\.0 is not supported/);
  });

  it.skipIf(!hasNumpy)(
    'reads what numpy writes (versions 1.0 and 2.0) and numpy reads what it writes',
    () => {
      const v1 = join(dir, 'v1.npy');
      const v2 = join(dir, 'v2.npy');
      python(
        `import numpy as np\n` +
          `a = np.arange(15, dtype='<f8').reshape(5, 3) / 7\n` +
          `np.save('${v1}', a)\n` +
          `np.lib.format.write_array(open('${v2}', 'wb'), a, version=(2, 0))`,
      );
      for (const file of [v1, v2]) {
        const array = parseNpy(new Uint8Array(readFileSync(file)), 'A');
        expect(array.shape).toEqual([5, 3]);
        expect([...array.data]).toEqual(Array.from({ length: 15 }, (_, i) => i / 7));
      }
      const ours = join(dir, 'ours.npy');
      writeFileSync(ours, encodeNpy(Float64Array.of(0.1, -2, 3e300, 4, 5, 6), [2, 3]));
      expect(
        python(
          `import numpy as np\na = np.load('${ours}')\nprint(a.dtype, a.shape, a.flags['C_CONTIGUOUS'], repr(a[1, 0]), repr(a[0, 0]))`,
        ).trim(),
      ).toBe('float64 (2, 3) True np.float64(4.0) np.float64(0.1)');
      const vector = join(dir, 'vector.npy');
      writeFileSync(vector, encodeNpy(Float64Array.of(1, 2), [2]));
      expect(python(`import numpy as np\nprint(np.load('${vector}').shape)`).trim()).toBe('(2,)');
    },
  );
});
