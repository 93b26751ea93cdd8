/**
 * The CLI's wiring and error mapping with the solver replaced: solver failures such as NUMERICAL_BREAKDOWN
 * cannot be provoked reliably from input, and the option plumbing is easier to see on recorded calls.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { EXIT_CANT_CREATE, EXIT_DATA, EXIT_OK, EXIT_SOFTWARE, relativeError } from '../../src/main/cli.js';
import {
  type Checkpoint,
  type Iterate,
  leverageScores,
  type SolveResult,
  SolverError,
  solve,
} from '../../src/solver/index.js';
import { runCliCaptured } from '../helpers/run-cli.js';

vi.mock('../../src/solver/index.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/solver/index.js')>();
  return { ...actual, solve: vi.fn(), leverageScores: vi.fn() };
});

const run = runCliCaptured;

const doc = {
  A: [
    [1, 0],
    [0, 1],
    [-1, -1],
  ],
  b: [0, 0, -3],
  sigma: [0.6, 0.7, 0.7],
};
const input = JSON.stringify(doc);

function iterate(iteration: number, loss: number, gradNorm: number): Iterate {
  return { iteration, loss, gradNorm, step: 1, shift: 0, x: [1, 1] };
}

function checkpoint(iteration: number): Checkpoint {
  return { iteration, x: [1, 1], trialStep: 1, previousLoss: null, start: [1, 1], startMs: 0, elapsedMs: 0 };
}

function fakeResult(x: number[]): SolveResult {
  return {
    method: 'newton',
    x,
    loss: 0,
    gradNorm: 0,
    iterations: 1,
    converged: true,
    reason: 'gradient-tolerance',
    leverage: [0.6, 0.7, 0.7],
    maxAbsResidual: 0,
    start: [1, 1],
    startMethod: 'global',
    signs: [1, 1, 1],
    negativeSlacks: 0,
    timings: { startMs: 0, solveMs: 0, totalMs: 0, threads: 1 },
    warnings: [],
    iterates: [],
  };
}

function throwing(error: unknown) {
  return () => {
    throw error;
  };
}

describe('solver errors', () => {
  beforeEach(() => {
    vi.mocked(solve).mockReset();
    vi.mocked(leverageScores).mockReset();
  });

  it('65 for a SolverError, prefixed with its field', async () => {
    vi.mocked(solve).mockImplementation(
      throwing(new SolverError('RANK_DEFICIENT', 'A_x has rank 1 < 2', 'A')),
    );
    expect(await run(['solve', '-'], { stdin: input })).toEqual({
      code: EXIT_DATA,
      stdout: '',
      stderr: 'levinv: A: A_x has rank 1 < 2\n',
    });
    // no doubled prefix when the message already starts with the field
    vi.mocked(solve).mockImplementation(
      throwing(new SolverError('X0_OUTSIDE_CELL', 'x0 is outside the cell', 'x0')),
    );
    expect((await run(['solve', '-'], { stdin: input })).stderr).toBe('levinv: x0 is outside the cell\n');
    vi.mocked(solve).mockImplementation(throwing(new SolverError('EMPTY_CELL', 'the cell is empty')));
    expect(await run(['solve', '-'], { stdin: input })).toMatchObject({
      code: EXIT_DATA,
      stderr: 'levinv: the cell is empty\n',
    });
  });

  it('70 for NUMERICAL_BREAKDOWN', async () => {
    vi.mocked(solve).mockImplementation(throwing(new SolverError('NUMERICAL_BREAKDOWN', 'Cholesky failed')));
    expect(await run(['solve', '-'], { stdin: input })).toEqual({
      code: EXIT_SOFTWARE,
      stdout: '',
      stderr: 'levinv: Cholesky failed\n',
    });
  });

  it('70 for unexpected errors, on one line and without a stack', async () => {
    vi.mocked(solve).mockImplementation(
      throwing(new TypeError('cannot read x\n    at somewhere (file.js:1:1)')),
    );
    expect(await run(['solve', '-'], { stdin: input })).toEqual({
      code: EXIT_SOFTWARE,
      stdout: '',
      stderr: 'levinv: internal error: cannot read x at somewhere (file.js:1:1)\n',
    });
    vi.mocked(solve).mockImplementation(throwing('a string'));
    expect((await run(['solve', '-'], { stdin: input })).stderr).toBe('levinv: internal error: a string\n');
  });

  it('65 for a SolverError from leverage', async () => {
    vi.mocked(leverageScores).mockImplementation(
      throwing(new SolverError('X0_ON_WALL', 'slack 2 is 0', 'x')),
    );
    const leverageInput = JSON.stringify({ A: doc.A, b: doc.b, x: [1, 1] });
    expect(await run(['leverage', '-'], { stdin: leverageInput })).toEqual({
      code: EXIT_DATA,
      stdout: '',
      stderr: 'levinv: x: slack 2 is 0\n',
    });
  });
});

describe('solve wiring', () => {
  beforeEach(() => {
    vi.mocked(solve).mockReset();
  });

  it('passes the parsed problem and options, --method overriding the file', async () => {
    vi.mocked(solve).mockReturnValue(fakeResult([1, 1]));
    const withOptions = {
      ...doc,
      method: 'gd',
      options: { maxIterations: 7, regularization: 0.5, record: { every: 2 } },
    };
    const { code } = await run(['solve', '-', '--method', 'newton'], { stdin: JSON.stringify(withOptions) });
    expect(code).toBe(EXIT_OK);
    const [problem, options, hooks] = vi.mocked(solve).mock.calls[0];
    expect(problem.A).toEqual(new Float64Array([1, 0, 0, 1, -1, -1]));
    expect(problem.regularization).toBe(0.5);
    expect(options).toEqual({
      method: 'newton',
      maxIterations: 7,
      record: { every: 2, includeX: true, limit: 10000 },
    });
    // no progress hook when stderr is not a terminal
    expect(hooks).toEqual({});
  });

  it('adds relError only when the input has xStar', async () => {
    vi.mocked(solve).mockReturnValue(fakeResult([1, 1]));
    const plain = JSON.parse((await run(['solve', '-'], { stdin: input })).stdout);
    expect(plain).toEqual(fakeResult([1, 1]));
    const withXStar = JSON.parse(
      (await run(['solve', '-'], { stdin: JSON.stringify({ ...doc, xStar: [1, 2] }) })).stdout,
    );
    expect(withXStar.relError).toBeCloseTo(1 / Math.sqrt(5), 15);
  });

  it('draws progress in place and ends the line before an error', async () => {
    vi.mocked(solve).mockImplementation((_problem, _options, hooks) => {
      hooks?.onIterate?.(iterate(0, 1, 2), checkpoint(0));
      hooks?.onIterate?.(iterate(1, 0.5, 0.25), checkpoint(1));
      hooks?.onIterate?.(iterate(2, 3.1e-12, 4.2e-9), checkpoint(2));
      throw new SolverError('NUMERICAL_BREAKDOWN', 'Hessian shift overflow');
    });
    const { code, stderr } = await run(['solve', '-'], { stdin: input, tty: true });
    expect(code).toBe(EXIT_SOFTWARE);
    // the first iterate is drawn at once; the last (throttled) one when the run ends
    expect(stderr).toBe(
      '\r  iter 0  loss 1.0e+0  |g| 2.0e+0\x1b[K' +
        '\r  iter 2  loss 3.1e-12  |g| 4.2e-9\x1b[K\n' +
        'levinv: Hessian shift overflow\n',
    );
  });

  it('73 when --out cannot be written', async () => {
    vi.mocked(solve).mockReturnValue(fakeResult([1, 1]));
    const dir = mkdtempSync(join(tmpdir(), 'levinv-out-'));
    writeFileSync(join(dir, 'file'), '');
    expect(await run(['solve', '-', '--out', join(dir, 'missing', 'r.json')], { stdin: input })).toEqual({
      code: EXIT_CANT_CREATE,
      stdout: '',
      stderr: `levinv: cannot write ${join(dir, 'missing', 'r.json')}: no such file\n`,
    });
    expect((await run(['solve', '-', '--out', dir], { stdin: input })).stderr).toBe(
      `levinv: cannot write ${dir}: is a directory\n`,
    );
  });
});

describe('relativeError', () => {
  it('is ||x - xStar|| / ||xStar||, absolute when xStar = 0', () => {
    expect(relativeError([3, 4], new Float64Array([0, 0]))).toBe(5);
    expect(relativeError([1, 1], new Float64Array([1, 1]))).toBe(0);
    expect(relativeError([2, 0], new Float64Array([1, 0]))).toBe(1);
  });
});
