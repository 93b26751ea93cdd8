/**
 * A small seeded PRNG (xoshiro128**, seeded through splitmix32) with uniform and standard normal draws.
 * Generated problems must be reproducible from their seed on any platform and Node version, which
 * Math.random cannot promise.
 */

export interface Rng {
  /** uniform on [0, 1), 53 bits */
  next(): number;
  /** uniform on [lo, hi) */
  uniform(lo: number, hi: number): number;
  /** standard normal (Box-Muller) */
  normal(): number;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** splitmix32: spreads a poor seed (0, 1, 2, ...) over the whole state so nearby seeds give unrelated streams. */
function splitmix32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  };
}

/** A generator seeded by any safe integer (both 32-bit halves of it matter). */
export function createRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  const low = seed >>> 0;
  const high = Math.floor(seed / 2 ** 32) >>> 0;
  const mix = splitmix32(low ^ Math.imul(high, 0x85ebca6b));
  let s0 = mix();
  let s1 = mix();
  let s2 = mix();
  let s3 = mix();
  // xoshiro's one forbidden state; splitmix32 makes it practically impossible, but it would be silent.
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;

  const next32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };

  const next = (): number => ((next32() >>> 5) * 2 ** 26 + (next32() >>> 6)) / 2 ** 53;

  // Box-Muller yields normals in pairs; keep the second for the next call.
  let spare: number | undefined;
  const normal = (): number => {
    if (spare !== undefined) {
      const z = spare;
      spare = undefined;
      return z;
    }
    const r = Math.sqrt(-2 * Math.log(1 - next())); // 1 - next() is in (0, 1]: log never sees 0
    const theta = 2 * Math.PI * next();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };

  return { next, uniform: (lo, hi) => lo + (hi - lo) * next(), normal };
}
