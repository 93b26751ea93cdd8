/**
 * A valid .npy part whose data is not 8-byte aligned (an unpadded header, as other writers make), through the
 * real app and Redis: the job's stored problem holds exactly the numbers sent, on the inline path (a small
 * upload, its parts in Node's shared buffer pool) and on the parse thread (over 256 KiB). No workers, so the
 * stored problem stays to be read.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeProblem, toAlignedArrayBuffer } from '../../src/jobs/problem-blob.js';
import type { JobView } from '../../src/jobs/types.js';
import { generateProblem } from '../../src/problem/generate.js';
import { encodeNpy } from '../../src/problem/npy.js';
import { type Harness, startHarness } from './harness.js';

let h: Harness;
let redis: Redis;
beforeAll(async () => {
  h = await startHarness('api-npy-unaligned', { workers: 0, maxBodyBytes: 8 * 1024 * 1024 });
  redis = new Redis(h.redis.url);
});
afterAll(async () => {
  redis?.disconnect();
  await h?.close();
});

/** A version 1.0 .npy vector with no header padding: its data starts at byte 10 + the header's length. */
function unpaddedNpy(values: Float64Array): { bytes: Buffer; dataStart: number } {
  const header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${values.length},), }`;
  const bytes = Buffer.alloc(10 + header.length + values.byteLength);
  bytes.write('\x93NUMPY\x01\x00', 0, 'latin1');
  bytes.writeUInt16LE(header.length, 8);
  bytes.write(header, 10, 'latin1');
  Buffer.from(values.buffer).copy(bytes, 10 + header.length);
  return { bytes, dataStart: 10 + header.length };
}

async function storedSigma(
  n: number,
  d: number,
  seed: number,
): Promise<{ sent: Float64Array; stored: Float64Array }> {
  const p = generateProblem({ n, d, seed });
  const sent = Float64Array.from(p.sigma);
  const { bytes, dataStart } = unpaddedNpy(sent);
  expect(dataStart % 8).not.toBe(0);
  const res = await h
    .http()
    .post('/solve')
    .attach('A', encodeNpy(Float64Array.from(p.A.flat()), [n, d]), 'A.npy')
    .attach('b', encodeNpy(Float64Array.from(p.b), [n]), 'b.npy')
    .attach('sigma', bytes, 'sigma.npy');
  expect(res.status, res.text).toBe(202);
  const { id } = res.body as JobView;
  const [key] = await redis.keys(`*:job:{${id}}:problem`);
  const blob = await redis.getBuffer(key);
  return { sent, stored: decodeProblem(toAlignedArrayBuffer(blob!)).problem.sigma };
}

describe('POST /solve with an unaligned sigma.npy', () => {
  it('stores exactly its numbers from a small upload (parsed inline)', async () => {
    const { sent, stored } = await storedSigma(20, 3, 11);
    expect(stored).toEqual(sent);
  });

  it('stores exactly its numbers from a large upload (parsed on the thread)', async () => {
    const { sent, stored } = await storedSigma(20_000, 3, 12);
    expect(sent.byteLength * 3).toBeGreaterThan(256 * 1024);
    expect(stored).toEqual(sent);
  });
});
