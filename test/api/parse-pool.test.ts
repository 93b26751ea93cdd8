/**
 * The parse pool's deadline and how it reports a dead thread, on real threads (dist/api/parse-thread.js:
 * run `npm run build` first). The slow task is a real body: 50 MB of JSON takes about 2 s to parse here, more
 * than ten times the deadline below, and the small bodies take a few ms.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ParsePool } from '../../src/api/parse-pool.js';
import { HttpProblem } from '../../src/api/problems.js';
import { encodeNpy } from '../../src/problem/npy.js';

const DEADLINE_MS = 150;

/** A valid problem of n rows as JSON: about 130 bytes a row. */
function bigBody(n: number, d = 10): Buffer {
  const row = Array.from({ length: d }, (_, j) => String(0.123456789 + j)).join(',');
  return Buffer.from(
    `{"A":{"shape":[${n},${d}],"data":[${Array(n).fill(row).join(',')}]},` +
      `"b":[${Array(n).fill('0.5').join(',')}],"sigma":[${Array(n).fill('0.01').join(',')}]}`,
  );
}
const small = (): Buffer => Buffer.from('{"A":{"shape":[2,1],"data":[1,2]},"b":[1,2],"sigma":[0.5,0.5]}');

let pool: ParsePool | undefined;
afterEach(() => pool?.close());

async function refusal(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('it was not refused');
}

describe('ParsePool', () => {
  it('refuses a task past its deadline with 413, replaces the thread and serves the task queued behind it', async () => {
    pool = new ParsePool({ size: 1, deadlineMs: DEADLINE_MS });
    const slow = pool.parse([bigBody(400_000)], true);
    // queued behind the slow one for longer than the deadline: its own time counts from its start
    const next = pool.parse([small()], false);
    const error = await refusal(slow);
    expect(error).toBeInstanceOf(HttpProblem);
    expect((error as HttpProblem).status).toBe(413);
    expect(error.message).toBe(
      'the body takes longer to parse than the server allows for one request (0.15 s)',
    );
    const outcome = await next;
    expect(outcome.ok).toBe(true);
    if (outcome.ok) expect([...outcome.parsed.problem.A]).toEqual([1, 2]);
    // and the one after
    const again = await pool.parse([small()], false);
    expect(again.ok).toBe(true);
  });

  it('reports a thread that dies of something other than memory as a server error, running out of memory as 413', async () => {
    pool = new ParsePool({ size: 1 });
    expect((await pool.parse([small()], false)).ok).toBe(true);
    const running = pool.parse([bigBody(400_000)], false);
    // the one thread, stopped from outside while it parses (as a crash would)
    const slots = (pool as unknown as { slots: { thread: { terminate(): Promise<number> } }[] }).slots;
    await slots[0].thread.terminate();
    const error = await refusal(running);
    expect(error).not.toBeInstanceOf(HttpProblem);
    expect(error.message).toBe('the parse thread stopped: it exited');
    expect((await pool.parse([small()], false)).ok).toBe(true);
    await pool.close();
    // while a body that needs more than the heap cap is the client's: 413
    // (not much less than 64 MB: under about 40 MB V8 aborts the whole process instead of the thread)
    pool = new ParsePool({ size: 1, maxHeapMb: 64 });
    const tooBig = await refusal(pool.parse([bigBody(400_000)], false));
    expect(tooBig).toBeInstanceOf(HttpProblem);
    expect((tooBig as HttpProblem).status).toBe(413);
    expect(tooBig.message).toBe('the body needs more memory to parse than the server allows for one request');
  });

  it('sends only a chunk’s own bytes to the thread: an unaligned .npy part viewed inside a larger buffer', async () => {
    pool = new ParsePool({ size: 1 });
    const header = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }";
    const file = Buffer.alloc(10 + header.length + 24);
    file.write('\x93NUMPY\x01\x00', 0, 'latin1');
    file.writeUInt16LE(header.length, 8);
    file.write(header, 10, 'latin1');
    [0.25, 0.5, 0.75].forEach((v, i) => {
      file.writeDoubleLE(v, 10 + header.length + 8 * i);
    });
    const outer = Buffer.alloc(file.length + 64, 0xa5);
    file.copy(outer, 3);
    const sigma = outer.subarray(3, 3 + file.length);
    const A = encodeNpy(Float64Array.of(1, 2, 3), [3, 1]);
    const b = encodeNpy(Float64Array.of(1, 1, 1), [3]);
    const outcome = await pool.parse([], false, { files: { A: [A], b: [b], sigma: [sigma] } });
    expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
    if (outcome.ok) expect([...outcome.parsed.problem.sigma]).toEqual([0.25, 0.5, 0.75]);
  });
});
