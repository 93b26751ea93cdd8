/**
 * hooks.signal and maxSeconds inside the long phases: on a problem where one Newton iteration takes about a
 * second (n = 100000, d = 40, one thread, with the WebAssembly kernels; more on a busy machine), a stop
 * asked for 0.2 s into it lands long before it could end on its own. The bounds are generous (5 s).
 */
import { describe, expect, it } from 'vitest';
import { SolverError, solve } from '../../src/solver/index.js';
import { POLL_WORK, Stopper, StopRequested } from '../../src/solver/stop.js';
import { randomProblem } from '../helpers/random-problem.js';

const { problem, near } = randomProblem({ n: 100_000, d: 40, seed: 3 });
const { signs: _signs, ...unsigned } = problem;
const GENEROUS_MS = 5000;

/** A signal whose `aborted` turns true `afterMs` after it is made, as a flag set by another thread would. */
function abortAfter(afterMs: number): { readonly aborted: boolean } {
  const at = performance.now() + afterMs;
  return {
    get aborted() {
      return performance.now() >= at;
    },
  };
}

function timed<T>(fn: () => T): { value: T | undefined; error: unknown; ms: number } {
  const began = performance.now();
  try {
    return { value: fn(), error: undefined, ms: performance.now() - began };
  } catch (error) {
    return { value: undefined, error, ms: performance.now() - began };
  }
}

describe('a stop inside the first Newton iteration ends at the last complete iterate', () => {
  // Both stops are timed from iterate 0, so that they land in iteration 1 whatever the start took (the
  // start point takes about 1-2 s here: the stops in the next block, at 0.3 s, land inside it).
  it('maxSeconds: 0.2, on a clock that starts at iterate 0', () => {
    let zeroAt: number | undefined;
    const now = (): number => (zeroAt === undefined ? 0 : performance.now() - zeroAt);
    const result = solve(
      { ...unsigned, x0: near },
      { maxSeconds: 0.2 },
      { now, onIterate: () => (zeroAt ??= performance.now()) },
    );
    const sinceZero = performance.now() - zeroAt!;
    expect([result.reason, result.iterations, result.converged]).toEqual(['max-seconds', 0, false]);
    expect(result.x).toEqual(Array.from(near));
    expect(sinceZero).toBeLessThan(GENEROUS_MS);
  });

  it('a signal that turns aborted 0.2 s after iterate 0', () => {
    let zeroAt: number | undefined;
    const signal = {
      get aborted() {
        return zeroAt !== undefined && performance.now() - zeroAt >= 200;
      },
    };
    const result = solve(
      { ...unsigned, x0: near },
      {},
      { signal, onIterate: () => (zeroAt ??= performance.now()) },
    );
    const sinceZero = performance.now() - zeroAt!;
    expect([result.reason, result.iterations]).toEqual(['aborted', 0]);
    expect(result.iterates.map((it) => it.iteration)).toEqual([0]);
    expect(sinceZero).toBeLessThan(GENEROUS_MS);
  });
});

describe('a stop during the start-point search is an error (there is no iterate yet)', () => {
  it('an abort: ABORTED', () => {
    const run = timed(() => solve(unsigned, {}, { signal: abortAfter(300) }));
    expect(run.error).toBeInstanceOf(SolverError);
    expect((run.error as SolverError).code).toBe('ABORTED');
    expect((run.error as SolverError).message).toBe('the solve was aborted before its first iterate');
    expect(run.ms).toBeLessThan(GENEROUS_MS);
  });

  it('maxSeconds: TIME_LIMIT', () => {
    const run = timed(() => solve(unsigned, { maxSeconds: 0.3 }));
    expect(run.error).toBeInstanceOf(SolverError);
    const error = run.error as SolverError;
    expect([error.code, error.field]).toEqual(['TIME_LIMIT', 'maxSeconds']);
    expect(run.ms).toBeLessThan(GENEROUS_MS);
  });

  it('bad input is reported as such even when the signal is already aborted', () => {
    const run = timed(() =>
      solve({ ...unsigned, b: new Float64Array(3) }, { maxSeconds: 1e-9 }, { signal: { aborted: true } }),
    );
    expect([(run.error as SolverError).code, (run.error as SolverError).field]).toEqual([
      'SHAPE_MISMATCH',
      'b',
    ]);
  });

  it('a signal already aborted: ABORTED before any work', () => {
    const run = timed(() => solve(unsigned, {}, { signal: { aborted: true } }));
    expect((run.error as SolverError).code).toBe('ABORTED');
  });
});

describe('Stopper', () => {
  it('polls once per POLL_WORK units of work and throws the reason', () => {
    let reads = 0;
    const signal = {
      get aborted() {
        reads++;
        return reads >= 3;
      },
    };
    const stop = new Stopper(signal, () => 0, Infinity);
    for (let i = 0; i < 1000; i++) stop.tick(POLL_WORK / 1000 - 1e-9);
    expect(reads).toBe(0);
    stop.tick(POLL_WORK);
    expect(reads).toBe(1);
    stop.tick(POLL_WORK);
    expect(() => stop.tick(POLL_WORK)).toThrow(StopRequested);
    expect(reads).toBe(3);
  });

  it('reads the clock only with a budget, and reports max-seconds past the deadline', () => {
    let clockReads = 0;
    const unlimited = new Stopper(undefined, () => clockReads++, Infinity);
    unlimited.check();
    expect(clockReads).toBe(0);
    let t = 0;
    const limited = new Stopper(undefined, () => t, 100);
    expect(limited.due()).toBeNull();
    t = 100;
    expect(limited.due()).toBe('max-seconds');
    try {
      limited.check();
    } catch (error) {
      expect((error as StopRequested).reason).toBe('max-seconds');
    }
  });
});
