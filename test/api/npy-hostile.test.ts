/**
 * .npy headers built to stall the parser or to be read two ways, posted to the real app: each is a 400 naming
 * its part, inline and on the parse thread, and nothing is queued.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/jobs/types.js';
import { encodeNpy } from '../../src/problem/npy.js';
import { expectProblem, type Harness, startHarness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('api-npy-hostile', { workers: 0, maxBodyBytes: 8 * 1024 * 1024 });
});
afterAll(() => h?.close());

/** A version 2.0 .npy file (u32 header length) with this header and one number. */
function npyWithHeader(header: string): Buffer {
  const out = Buffer.alloc(12 + header.length + 8);
  out.write('\x93NUMPY\x02\x00', 0, 'latin1');
  out.writeUInt32LE(header.length, 8);
  out.write(header, 12, 'latin1');
  out.writeDoubleLE(0.5, 12 + header.length);
  return out;
}

const START = "{'descr': '<f8', 'fortran_order': False, ";

function post(sigma: Buffer) {
  return h
    .http()
    .post('/solve')
    .attach('A', encodeNpy(Float64Array.of(1), [1, 1]), 'A.npy')
    .attach('b', encodeNpy(Float64Array.of(1), [1]), 'b.npy')
    .attach('sigma', sigma, 'sigma.npy');
}

describe('hostile .npy headers through POST /solve', () => {
  it("refuses a header of 'shape':( repeated, inline (28000 times) and on the thread (30000), as 400 naming sigma", async () => {
    const listed = async () => ((await h.http().get('/jobs?limit=100')).body.items as JobView[]).length;
    for (const times of [28_000, 30_000]) {
      const header = `${START}${"'shape':(".repeat(times)}`;
      const problem = expectProblem(await post(npyWithHeader(header)), 400);
      expect(problem.detail).toBe(
        `sigma: the .npy header is ${header.length} bytes long; at most 10000 are read`,
      );
      expect((problem.errors as { pointer: string }[]).map((e) => e.pointer)).toEqual(['/sigma']);
    }
    expect(await listed()).toBe(0);
  });

  it('refuses a key given twice, which NumPy would read as the last one', async () => {
    const problem = expectProblem(await post(npyWithHeader(`${START}'shape': (1,), 'descr': '>f8'}`)), 400);
    expect(problem.detail).toBe("sigma: bad .npy header: the key 'descr' is given twice");
  });
});
