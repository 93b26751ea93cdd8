/** Checkpoints and hooks.resume: a run stopped at iteration k and resumed follows the uninterrupted path. */
import { describe, expect, it } from 'vitest';
import {
  type Checkpoint,
  type Iterate,
  type SolveOptions,
  SolverError,
  solve,
} from '../../src/solver/index.js';
import { randomProblem } from '../helpers/random-problem.js';

const { problem } = randomProblem({ n: 80, d: 5, seed: 32, negative: 0.4 });
/** From the analytic centre: the global start of an exact problem is its answer, with no iterations to resume. */
const CENTRE = { start: 'centre' } as const;

/** What a store would hold: the checkpoint after a trip through JSON. */
const roundTrip = (cp: Checkpoint): Checkpoint => JSON.parse(JSON.stringify(cp)) as Checkpoint;

function runAll(options: Partial<SolveOptions>) {
  const seen: Array<{ it: Iterate; cp: Checkpoint }> = [];
  const result = solve(problem, { ...CENTRE, ...options }, { onIterate: (it, cp) => seen.push({ it, cp }) });
  return { result, seen };
}

/** Runs until iteration k, aborting there, and returns the stored checkpoint of iteration k. */
function runUntil(options: Partial<SolveOptions>, k: number) {
  const signal = { aborted: false };
  let stored: Checkpoint | undefined;
  const result = solve(
    problem,
    { ...CENTRE, ...options },
    {
      signal,
      onIterate: (it, cp) => {
        if (it.iteration !== k) return;
        stored = roundTrip(cp);
        expect(stored).toEqual(cp);
        signal.aborted = true;
      },
    },
  );
  return { result, checkpoint: stored! };
}

describe('resume continues a run exactly', () => {
  it.each([
    ['newton', { method: 'newton' }],
    ['gauss-newton', { method: 'gauss-newton' }],
    ['gd (growing trial step)', { method: 'gd' }],
    ['gd with lossChangeTolerance', { method: 'gd', lossChangeTolerance: 1e-4, tolerance: 0 }],
  ] as Array<[string, Partial<SolveOptions>]>)('%s', (_name, options) => {
    const full = runAll(options);
    const total = full.result.iterations;
    expect(total).toBeGreaterThanOrEqual(4);
    const k = Math.floor(total / 2);

    const first = runUntil(options, k);
    expect([first.result.reason, first.result.iterations]).toEqual(['aborted', k]);
    const cp = first.checkpoint;
    expect(cp.iteration).toBe(k);
    expect(cp.x).toEqual(full.seen[k].it.x);
    expect(cp.start).toEqual(full.result.start);
    expect(cp.previousLoss).toBe(full.seen[k - 1].it.loss);
    if (options.method === 'gd') {
      // The trial step has grown past the first one: resuming with stepSize would take another path.
      expect(cp.trialStep).toBe(full.seen[k].cp.trialStep);
      expect(cp.trialStep).not.toBe(1);
    }

    const rest: Iterate[] = [];
    const resumed = solve(
      problem,
      { ...CENTRE, ...options },
      { resume: cp, onIterate: (it) => rest.push(it) },
    );
    expect(rest.map((it) => it.iteration)).toEqual(full.seen.slice(k + 1).map((s) => s.it.iteration));
    // Deterministic: the same x sequence, bit for bit.
    expect(rest.map((it) => it.x)).toEqual(full.seen.slice(k + 1).map((s) => s.it.x));
    expect(resumed.x).toEqual(full.result.x);
    expect([resumed.iterations, resumed.reason, resumed.loss]).toEqual([
      total,
      full.result.reason,
      full.result.loss,
    ]);
    expect(resumed.start).toEqual(full.result.start);
    expect(resumed.timings.startMs).toBe(cp.startMs);
    expect(resumed.timings.totalMs).toBeGreaterThanOrEqual(cp.elapsedMs);
    // The caller already has iterates 0..k.
    expect(resumed.iterates.map((it) => it.iteration)).toEqual(rest.map((it) => it.iteration));
  });

  it('resuming at the last iterate of a loss-change stop stops at once (previousLoss was kept)', () => {
    const options: Partial<SolveOptions> = { method: 'gd', lossChangeTolerance: 1e-4, tolerance: 0 };
    const full = runAll(options);
    expect(full.result.reason).toBe('loss-change');
    const last = roundTrip(full.seen[full.seen.length - 1].cp);
    const resumed = solve(problem, { ...CENTRE, ...options }, { resume: last });
    expect([resumed.reason, resumed.iterations, resumed.iterates]).toEqual([
      'loss-change',
      full.result.iterations,
      [],
    ]);
    expect(resumed.x).toEqual(full.result.x);
  });

  it('the checkpoint of iteration 0 has previousLoss null (not NaN) and survives JSON', () => {
    const { seen } = runAll({ maxIterations: 1 });
    const cp0 = seen[0].cp;
    expect(cp0.previousLoss).toBeNull();
    expect(cp0.x).toEqual(cp0.start);
    expect(roundTrip(cp0)).toEqual(cp0);
    expect(seen[1].cp.previousLoss).toBe(seen[0].it.loss);
    expect(seen[1].cp.elapsedMs).toBeGreaterThanOrEqual(seen[0].cp.elapsedMs);
  });

  it('maxSeconds counts the time the checkpoint already spent', () => {
    const { seen } = runAll({ method: 'gd', maxIterations: 5 });
    const cp = { ...roundTrip(seen[3].cp), elapsedMs: 10_000 };
    const resumed = solve(problem, { ...CENTRE, method: 'gd', maxSeconds: 5 }, { resume: cp });
    expect([resumed.reason, resumed.iterations, resumed.iterates]).toEqual(['max-seconds', 3, []]);
    expect(resumed.x).toEqual(cp.x);
    expect(resumed.timings.totalMs).toBeGreaterThanOrEqual(10_000);
  });
});

describe('how the start was found survives a resume', () => {
  it('a global start with its ambiguity note, and a centre', () => {
    // regularized: the loss minimum is not the global start, so Newton iterates from it
    const { problem: regularized } = randomProblem({
      n: 30,
      d: 4,
      seed: 5,
      negative: 0.3,
      regularization: 0.05,
    });
    const { signs: _signs, ...unsigned } = regularized;
    for (const [given, options, method] of [
      [unsigned, {}, 'global'],
      [regularized, {}, 'global-signs'],
      [regularized, CENTRE, 'centre'],
    ] as const) {
      const checkpoints: Checkpoint[] = [];
      const full = solve(given, options, { onIterate: (_it, cp) => checkpoints.push(roundTrip(cp)) });
      expect(full.iterations).toBeGreaterThanOrEqual(1);
      expect(full.startMethod).toBe(method);
      expect(checkpoints[0].startInfo?.method).toBe(method);
      const resumed = solve(given, options, { resume: checkpoints[0] });
      expect([resumed.startMethod, resumed.ambiguity]).toEqual([full.startMethod, full.ambiguity]);
      expect(resumed.x).toEqual(full.x);
    }
  });
});

describe('a checkpoint that does not fit is refused', () => {
  const good = (): Checkpoint => roundTrip(runAll({ maxIterations: 1 }).seen[1].cp);

  it.each([
    ['x of the wrong length', { x: [1, 2] }, /^resume: x must be an array of 5 numbers .*got 2 entries$/],
    [
      'a non-finite x',
      { x: [0, 0, Number.NaN, 0, 0] },
      /^resume: x\[2\] is NaN: every number must be finite$/,
    ],
    ['a negative iteration', { iteration: -1 }, /^resume: iteration must be an integer >= 0, got -1$/],
    ['a fractional iteration', { iteration: 1.5 }, /^resume: iteration must be an integer >= 0, got 1\.5$/],
    ['a zero trial step', { trialStep: 0 }, /^resume: trialStep must be a finite number > 0, got 0$/],
    [
      'a NaN previousLoss',
      { previousLoss: Number.NaN },
      /^resume: previousLoss must be a finite number or null/,
    ],
    ['a negative elapsedMs', { elapsedMs: -1 }, /^resume: elapsedMs must be a finite number >= 0, got -1$/],
  ] as Array<[string, Partial<Checkpoint>, RegExp]>)('%s', (_name, change, message) => {
    let error: unknown;
    try {
      solve(problem, {}, { resume: { ...good(), ...change } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SolverError);
    const e = error as SolverError;
    expect([e.code, e.field]).toEqual(['INVALID_OPTION', 'resume']);
    expect(e.message).toMatch(message);
  });

  it('an x outside the cell', () => {
    // xStar's mirror image lies in another cell (the slacks of the sign pattern flip).
    const x = good().x.map((v) => -10 * v);
    let error: unknown;
    try {
      solve(problem, {}, { resume: { ...good(), x } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SolverError);
    const e = error as SolverError;
    expect([e.code, e.field]).toEqual(['X0_OUTSIDE_CELL', 'resume']);
    expect(e.message).toMatch(/^resume: x is not strictly inside the run's cell: the slack of row \d+ is /);
  });
});
