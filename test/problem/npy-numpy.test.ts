/**
 * parseNpy against NumPy's own reader: a few hundred hand-built .npy files (test/problem/npy-cases.py, seeded:
 * NPY_CASES_SEED=<n> replays a run) at every alignment, each either read exactly as np.load reads it or refused
 * with an NpyError naming the part; and the headers built to be slow or ambiguous, refused by what they are.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_HEADER_BYTES, NpyError, parseNpy } from '../../src/problem/npy.js';

const hasNumpy = spawnSync('python3', ['-c', 'import numpy']).status === 0;
const script = fileURLToPath(new URL('./npy-cases.py', import.meta.url));
const SEED = Number(process.env.NPY_CASES_SEED ?? 20240611);
const COUNT = 400;
/** Bytes around the input: read as doubles they would be -1.2e-297, and as a score out of range. */
const SENTINEL = 0xa5;

interface Case {
  hex: string;
  subset: boolean;
  mutation: string | null;
  numpy: { ok: boolean; error?: string; dtype?: string; shape?: number[]; data?: string };
}

const hexOf = (data: Float64Array): string =>
  Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex');

/** The same bytes as the file at `offset` in a larger buffer of sentinels. */
function inSentinels(bytes: Uint8Array, offset: number): Uint8Array {
  const outer = new Uint8Array(bytes.length + offset + 16).fill(SENTINEL);
  outer.set(bytes, offset);
  return outer.subarray(offset, offset + bytes.length);
}

/** The bytes as a pooled Buffer (a window on Node's shared 8 KB pool), with sentinels next to it there. */
function pooled(bytes: Uint8Array): Uint8Array {
  Buffer.allocUnsafe(24).fill(SENTINEL);
  const buffer = Buffer.from(bytes);
  Buffer.allocUnsafe(24).fill(SENTINEL);
  return buffer;
}

describe.skipIf(!hasNumpy)('parseNpy reads what np.load reads, or refuses it naming the part', () => {
  let cases: Case[];
  beforeAll(() => {
    const out = execFileSync('python3', [script, String(SEED), String(COUNT)], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    cases = (JSON.parse(out) as { cases: Case[] }).cases;
  });

  it(`${COUNT} random files at offsets 0-15 and pooled (seed ${SEED})`, () => {
    const failures: string[] = [];
    let read = 0;
    let unaligned = 0;
    cases.forEach((c, index) => {
      const file = new Uint8Array(Buffer.from(c.hex, 'hex'));
      const inputs: [string, Uint8Array][] = Array.from({ length: 16 }, (_, offset) => [
        `offset ${offset}`,
        inSentinels(file, offset),
      ]);
      if (file.length < 4096) inputs.push(['pooled', pooled(file)]);
      for (const [where, bytes] of inputs) {
        const at = `seed ${SEED} case ${index} (${c.mutation ?? 'valid'}, ${where}, ${c.hex.slice(0, 400)})`;
        let got: ReturnType<typeof parseNpy> | undefined;
        try {
          got = parseNpy(bytes, 'sigma');
        } catch (error) {
          if (!(error instanceof NpyError) || !error.message.startsWith('sigma: ')) {
            failures.push(`${at}: threw ${String(error)}`);
          } else if (c.subset) {
            failures.push(`${at}: refused a valid file NumPy reads: ${error.message}`);
          }
          continue;
        }
        read++;
        if ((bytes.byteOffset + file.length - got.data.byteLength) % 8 !== 0) unaligned++;
        const expected = c.numpy;
        if (!expected.ok) failures.push(`${at}: read a file NumPy refuses (${expected.error})`);
        else if (expected.dtype !== '<f8') failures.push(`${at}: read a ${expected.dtype} file as float64`);
        else if (JSON.stringify(got.shape) !== JSON.stringify(expected.shape)) {
          failures.push(`${at}: shape ${got.shape} where NumPy has ${expected.shape}`);
        } else if (hexOf(got.data) !== expected.data) {
          failures.push(
            `${at}: data ${hexOf(got.data).slice(0, 64)} where NumPy has ${expected.data?.slice(0, 64)}`,
          );
        }
      }
    });
    expect(failures.slice(0, 5), `${failures.length} failures`).toEqual([]);
    // the run covered what it is about: many files read, many of them from unaligned data
    expect(read).toBeGreaterThan(COUNT * 8);
    expect(unaligned).toBeGreaterThan(COUNT);
  });
});

/** A version 2.0 file (u32 header length) with this header text and `values`. */
function withHeader(header: string, values: number[] = [0.5]): Uint8Array {
  const text = Buffer.from(header, 'latin1');
  const out = Buffer.alloc(12 + text.length + 8 * values.length);
  out.write('\x93NUMPY', 0, 'latin1');
  out[6] = 2;
  out.writeUInt32LE(text.length, 8);
  text.copy(out, 12);
  for (const [i, v] of values.entries()) out.writeDoubleLE(v, 12 + text.length + 8 * i);
  return new Uint8Array(out);
}

const refusal = (bytes: Uint8Array): string => {
  try {
    parseNpy(bytes, 'sigma');
  } catch (error) {
    expect(error).toBeInstanceOf(NpyError);
    return (error as Error).message;
  }
  throw new Error('parseNpy read it');
};

describe('hostile .npy headers', () => {
  const start = "{'descr': '<f8', 'fortran_order': False, ";

  it("refuses a header of 28000 'shape':( by its length, before scanning it", () => {
    const header = `${start}${"'shape':(".repeat(28_000)}`;
    expect(refusal(withHeader(header))).toBe(
      `sigma: the .npy header is ${header.length} bytes long; at most ${MAX_HEADER_BYTES} are read`,
    );
  });

  it("refuses one that fits under the cap ('shape':( 1000 times) where the tuple goes wrong", () => {
    const header = `${start}${"'shape':(".repeat(1000)}`;
    expect(header.length).toBeLessThan(MAX_HEADER_BYTES);
    expect(refusal(withHeader(header))).toBe(
      `sigma: bad .npy header: expected a dimension (a non-negative integer of at most 15 digits), found ''' at byte ${start.length + 9}`,
    );
  });

  it('refuses a key given twice (NumPy takes the last one) and keys NumPy does not know', () => {
    expect(
      refusal(withHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'descr': '>f8'}")),
    ).toBe("sigma: bad .npy header: the key 'descr' is given twice");
    expect(
      refusal(withHeader("{'descr': '<f8', 'shape': (1,), 'shape': (1,), 'fortran_order': False}")),
    ).toBe("sigma: bad .npy header: the key 'shape' is given twice");
    expect(refusal(withHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}"))).toBe(
      "sigma: bad .npy header: unexpected key 'x' (expected descr, fortran_order, shape)",
    );
  });

  it('reads an unpadded header whose data starts at an odd byte, and nothing past the part', () => {
    const header = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }";
    const file = withHeader(header, [0.25, 0.5, 1]);
    expect((12 + header.length) % 8).not.toBe(0);
    const got = parseNpy(pooled(file), 'sigma');
    expect([...got.data]).toEqual([0.25, 0.5, 1]);
    expect(got.data.byteLength).toBe(24);
  });

  it('refuses .npy versions other than 1.0, 2.0 and 3.0, minor ones included', () => {
    const file = withHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }");
    file[7] = 1;
    expect(refusal(file)).toBe('sigma: .npy version 2.1 is not supported (1.0, 2.0 and 3.0 are)');
  });
});
