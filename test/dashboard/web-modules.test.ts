/**
 * The dashboard's DOM-free modules, in Node: the browser's problem generator, the cell comparison and a job
 * as its events (the client's JobEvent) leave it.
 */
import { describe, expect, it } from 'vitest';
import type { Job, JobEvent } from '../../src/client/index.js';
import { generateProblem as generateInNode } from '../../src/problem/generate.js';
import { leverageScores } from '../../src/solver/index.js';
import { cellText, compareCells } from '../../web/src/cell.js';
import { checkParams, generateProblem, leverageAt } from '../../web/src/generate.js';
import { applyEvent } from '../../web/src/job-events.js';

describe('web/src/generate.ts', () => {
  it.each([
    [200, 8, 7, 'positive'],
    [60, 4, 1, 'mixed'],
    [500, 20, 123456789012, 'mixed'],
  ] as const)('draws what levinv generate draws for n=%i d=%i seed=%i %s', (n, d, seed, signs) => {
    const browser = generateProblem(n, d, seed, signs);
    const node = generateInNode({ n, d, seed, signs });
    // the same stream of draws: A, b, xStar and signs bit for bit
    expect(browser.A).toEqual(node.A);
    expect(browser.b).toEqual(node.b);
    expect(browser.xStar).toEqual(node.xStar);
    // the cell apart from the problem (the page does not send it); the CLI writes it for mixed only
    expect(browser.cell).toEqual(node.signs ?? new Array(n).fill(1));
    expect(browser).not.toHaveProperty('signs');
    // sigma from the normal equations against the solver's QR
    const worst = Math.max(...browser.sigma.map((s, i) => Math.abs(s - node.sigma[i])));
    expect(worst).toBeLessThan(1e-12);
    expect(browser.sigma.reduce((a, b) => a + b, 0)).toBeCloseTo(d, 10);
  });

  it('computes the leverage scores at any x as the solver does', () => {
    const { A, b } = generateInNode({ n: 40, d: 3, seed: 3 });
    const flat = Float64Array.from(A.flat());
    const x = new Float64Array([0.1, -0.2, 0.3]);
    const bv = Float64Array.from(b);
    const expected = leverageScores({ n: 40, d: 3, A: flat, b: bv }, x);
    const got = leverageAt(flat, bv, x, 40, 3);
    for (let i = 0; i < 40; i++) expect(got[i]).toBeCloseTo(expected[i], 12);
  });

  it('refuses parameters levinv generate refuses, naming them', () => {
    expect(checkParams(3, 4, 1)).toBe('n: expected an integer >= d = 4, got 3');
    expect(checkParams(10, 0, 1)).toBe('d: expected an integer >= 1, got 0');
    expect(checkParams(10, 2.5, 1)).toBe('d: expected an integer >= 1, got 2.5');
    expect(checkParams(10, 2, 1.5)).toBe('seed: expected an integer, got 1.5');
    expect(checkParams(10, 2, 1)).toBeUndefined();
    expect(() => generateProblem(2, 3, 1, 'positive')).toThrow('n: expected an integer >= d = 3, got 2');
  });

  it('says a rank-deficient draw is one (all rows equal)', () => {
    const A = new Float64Array([1, 1, 1, 1, 1, 1]);
    expect(() => leverageAt(A, new Float64Array([0, 0, 0]), new Float64Array([1, 1]), 3, 2)).toThrow(
      'rank-deficient',
    );
  });
});

describe('web/src/cell.ts', () => {
  it("says the found cell matches the generator's, counting the negative rows", () => {
    const { cell } = generateProblem(60, 4, 1, 'mixed');
    const negative = cell.filter((s) => s === -1).length;
    expect(negative).toBeGreaterThan(0);
    expect(negative).toBeLessThan(60);
    const same = compareCells([...cell], cell)!;
    expect(same).toEqual({ n: 60, negative, agree: 60, differing: [] });
    expect(cellText(same)).toBe(`${negative} of 60 negative; matches the generator's (60 of 60 rows)`);
  });

  it('names how many rows differ and the first of them', () => {
    const generator = [1, 1, -1, 1, -1, 1, 1, 1];
    const one = compareCells([1, 1, -1, 1, -1, 1, -1, 1], generator)!;
    expect(one).toEqual({ n: 8, negative: 3, agree: 7, differing: [6] });
    expect(cellText(one)).toBe(
      "3 of 8 negative; differs from the generator's in 1 row (7 of 8 agree; row index 6)",
    );
    // the opposite cell (what -x would give) differs everywhere; a NaN sign agrees with nothing
    const flipped = compareCells(
      generator.map((s) => -s),
      generator,
    )!;
    expect(flipped.agree).toBe(0);
    expect(cellText(flipped)).toBe(
      "6 of 8 negative; differs from the generator's in 8 rows (0 of 8 agree; row indices 0, 1, 2, 3, 4, ...)",
    );
    expect(compareCells([1, Number.NaN, -1], [1, 1, -1])).toEqual({
      n: 3,
      negative: 1,
      agree: 2,
      differing: [1],
    });
  });

  it('compares nothing when the lengths differ', () => {
    expect(compareCells([1, 1], [1, 1, 1])).toBeUndefined();
  });
});

describe('web/src/job-events.ts', () => {
  const queued: Job = {
    id: 'j1',
    state: 'queued',
    done: false,
    method: 'newton',
    n: 60,
    d: 4,
    createdAt: '2026-01-01T00:00:00.000Z',
    startedAt: null,
    finishedAt: null,
    progress: null,
    resumes: 0,
    iterates: { recorded: 0, limit: 10000, truncated: false },
  };

  it('a state event changes the state, a progress event the progress, and nothing else', () => {
    const state: JobEvent = { id: '1-0', type: 'state', data: { state: 'running', reason: 'worker-lost' } };
    const running = applyEvent(queued, state);
    expect(running).toEqual({ ...queued, state: 'running' });
    const progress: JobEvent = {
      id: '2-0',
      type: 'progress',
      data: { iteration: 3, loss: 0.25, gradNorm: 1e-3 },
    };
    const moving = applyEvent(running, progress);
    expect(moving).toEqual({
      ...queued,
      state: 'running',
      progress: { iteration: 3, loss: 0.25, gradNorm: 1e-3 },
    });
    // the job given is left as it was
    expect(queued.state).toBe('queued');
    expect(running.progress).toBeNull();
  });

  it('done replaces the job with the finished one it carries (also from a stream that ended early)', () => {
    const finished: Job = {
      ...queued,
      state: 'succeeded',
      done: true,
      startedAt: '2026-01-01T00:00:01.000Z',
      finishedAt: '2026-01-01T00:00:02.000Z',
      progress: { iteration: 9, loss: 1e-30, gradNorm: 1e-16 },
    };
    expect(applyEvent(queued, { id: '9-0', type: 'done', data: finished })).toBe(finished);
    expect(applyEvent(queued, { id: undefined, type: 'done', data: finished })).toBe(finished);
  });
});
