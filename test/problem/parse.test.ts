import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { problemJsonSchema } from '../../src/contract/problem.js';
import { formatPath, InputError, toPointer } from '../../src/problem/errors.js';
import { generateProblem } from '../../src/problem/generate.js';
import { parseLeverageInput, parseProblem } from '../../src/problem/parse.js';
import { findStart, SolverError, solve } from '../../src/solver/index.js';
import { TESTDATA_DIR } from '../helpers/testdata.js';

/** A valid 4 x 3 problem; tests break one field at a time. */
function base(): Record<string, unknown> {
  return {
    A: [
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 10],
      [1, 0, 1],
    ],
    b: [-1, -1, -1, -1],
    sigma: [0.75, 0.75, 0.75, 0.75],
  };
}

/** The InputError that parsing `json` throws. */
function inputError(json: unknown, parse: (json: unknown) => unknown = parseProblem): InputError {
  try {
    parse(json);
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return error as InputError;
  }
  throw new Error('expected an InputError, but the input parsed');
}

describe('parseProblem: valid input', () => {
  it('converts to the solver types', () => {
    const { problem, options, xStar } = parseProblem(base());
    expect(problem.n).toBe(4);
    expect(problem.d).toBe(3);
    expect(problem.A).toEqual(new Float64Array([1, 2, 3, 4, 5, 6, 7, 8, 10, 1, 0, 1]));
    expect(problem.b).toEqual(new Float64Array([-1, -1, -1, -1]));
    expect(problem.sigma).toBeInstanceOf(Float64Array);
    expect(problem.signs).toBeUndefined();
    expect(problem.x0).toBeUndefined();
    expect(problem.regularization).toBeUndefined();
    expect(options).toEqual({});
    expect(xStar).toBeUndefined();
  });

  it('parses both A formats to the same Float64Array', () => {
    const rows = parseProblem(base()).problem;
    const flat = parseProblem({
      ...base(),
      A: { shape: [4, 3], data: [1, 2, 3, 4, 5, 6, 7, 8, 10, 1, 0, 1] },
    }).problem;
    expect(flat.n).toBe(4);
    expect(flat.d).toBe(3);
    expect(flat.A).toEqual(rows.A);
  });

  it('moves regularization to the problem, method into the options, and fills record defaults', () => {
    const parsed = parseProblem({
      ...base(),
      method: 'gd',
      x0: [0, 0, 1],
      signs: [1, -1, 1, 1],
      xStar: [1, 2, 3],
      options: {
        maxIterations: 50,
        tolerance: 0,
        lossChangeTolerance: 1e-12,
        regularization: [0, 0.5, 1, 2],
        lineSearch: 'none',
        stepSize: 0.1,
        maxSeconds: 2.5,
        record: { includeX: false },
      },
    });
    expect(parsed.problem.regularization).toEqual(new Float64Array([0, 0.5, 1, 2]));
    expect(parsed.problem.signs).toEqual(new Int8Array([1, -1, 1, 1]));
    expect(parsed.problem.x0).toEqual(new Float64Array([0, 0, 1]));
    expect(parsed.xStar).toEqual(new Float64Array([1, 2, 3]));
    expect(parsed.options).toEqual({
      method: 'gd',
      maxIterations: 50,
      tolerance: 0,
      lossChangeTolerance: 1e-12,
      lineSearch: 'none',
      stepSize: 0.1,
      maxSeconds: 2.5,
      record: { every: 1, includeX: false, limit: 10000 },
    });
    expect(parseProblem({ ...base(), options: { regularization: 0.25 } }).problem.regularization).toBe(0.25);
  });

  it('parses the shared test vector tiny.json', () => {
    const vector = JSON.parse(readFileSync(join(TESTDATA_DIR, 'tiny.json'), 'utf8'));
    const { A, b, sigma, signs, xStar } = vector;
    const { problem, xStar: parsedXStar } = parseProblem({ A, b, sigma, signs, xStar });
    expect(problem.n).toBe(vector.n);
    expect(problem.d).toBe(vector.d);
    expect(Array.from(problem.A)).toEqual(A.flat());
    expect(Array.from(problem.b)).toEqual(b);
    expect(Array.from(problem.sigma)).toEqual(sigma);
    expect(problem.signs).toEqual(new Int8Array(vector.n).fill(1));
    expect(Array.from(parsedXStar ?? [])).toEqual(xStar);
  });

  it('rejects the test vector as is, naming its extra fields', () => {
    const vector = JSON.parse(readFileSync(join(TESTDATA_DIR, 'tiny.json'), 'utf8'));
    const error = inputError(vector);
    expect(error.issues.map((issue) => issue.path)).toEqual([
      'name',
      'n',
      'd',
      'regularization',
      'at',
      'start',
      'solution',
    ]);
  });
});

describe('parseProblem: errors name the field', () => {
  it('rows of different lengths: at the row, counting the other problems', () => {
    const A = [
      [1, 2, 3, 4],
      [1, 2, 3, 4],
      [1, 2, 3, 4],
      [1, 2, 3],
      [1, 2, 3, 4],
    ];
    const error = inputError({ A, b: [0, 0, 0, 0, 0], sigma: [1, 1, 1, 1, 2], foo: 1 });
    expect(error.message).toBe('A[3]: expected 4 numbers, got 3 (and 2 more problems)');
    expect(error.issues).toEqual([
      { path: 'A[3]', pointer: '/A/3', message: 'expected 4 numbers, got 3' },
      { path: 'sigma[4]', pointer: '/sigma/4', message: 'expected a score in [0, 1], got 2' },
      {
        path: 'foo',
        pointer: '/foo',
        message: 'unknown key; expected one of A, b, sigma, method, x0, signs, xStar, options',
      },
    ]);
  });

  it('flat A: data of the wrong length', () => {
    const error = inputError({ ...base(), A: { shape: [4, 3], data: Array(11).fill(1) } });
    expect(error.issues).toEqual([
      { path: 'A.data', pointer: '/A/data', message: 'expected 12 numbers (n x d = 4 x 3), got 11' },
    ]);
    expect(error.message).toBe('A.data: expected 12 numbers (n x d = 4 x 3), got 11');
  });

  it('flat A: bad shape and unknown keys', () => {
    expect(inputError({ ...base(), A: { shape: [4, 0], data: [] } }).message).toBe(
      'A.shape[1]: expected a positive integer, got 0',
    );
    expect(inputError({ ...base(), A: { shape: [4, 2.5], data: [] } }).message).toBe(
      'A.shape[1]: expected a positive integer, got 2.5',
    );
    expect(inputError({ ...base(), A: { shape: [4, 3], data: Array(12).fill(1), rows: 4 } }).message).toBe(
      'A.rows: unknown key; expected one of shape, data',
    );
    expect(inputError({ ...base(), A: { data: [] } }).message).toBe('A.shape: required');
  });

  it('fewer rows than columns, in both formats', () => {
    const message = 'A: expected at least as many rows as columns (n >= d), got 2 x 3';
    const rows = inputError({
      A: [
        [1, 2, 3],
        [4, 5, 6],
      ],
      b: [0, 0],
      sigma: [1, 1],
    });
    expect(rows.issues).toEqual([{ path: 'A', pointer: '/A', message: message.slice(3) }]);
    const flat = inputError({ A: { shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }, b: [0, 0], sigma: [1, 1] });
    expect(flat.message).toBe(message);
  });

  it('A of the wrong type, empty, or missing', () => {
    expect(inputError({ ...base(), A: 'x' }).message).toBe(
      'A: expected an array of rows or an object { shape: [n, d], data }, got "x"',
    );
    expect(inputError({ ...base(), A: [] }).message).toBe('A: expected at least one row');
    expect(inputError({ ...base(), A: [[], []] }).message).toBe(
      'A[0]: expected a row of at least one number, got an empty array (and 1 more problem)',
    );
    expect(inputError({ ...base(), A: [[1], 2] }).message).toBe(
      'A[1]: expected a row (an array of numbers), got 2',
    );
    const { A: _, ...noA } = base();
    expect(inputError(noA).issues[0]).toEqual({ path: 'A', pointer: '/A', message: 'required' });
  });

  it('lengths that must match n', () => {
    expect(inputError({ ...base(), b: [1, 2, 3] }).message).toBe(
      'b: expected 4 numbers (one per row of A), got 3',
    );
    expect(inputError({ ...base(), sigma: [0.5] }).message).toBe(
      'sigma: expected 4 numbers (one per row of A), got 1',
    );
    expect(inputError({ ...base(), signs: [1, 1, 1, 1, 1] }).message).toBe(
      'signs: expected 4 numbers (one per row of A), got 5',
    );
    expect(inputError({ ...base(), options: { regularization: [1, 2] } }).issues).toEqual([
      {
        path: 'options.regularization',
        pointer: '/options/regularization',
        message: 'expected 4 numbers (one per row of A), got 2',
      },
    ]);
  });

  it('lengths that must match d', () => {
    expect(inputError({ ...base(), x0: [1, 2] }).message).toBe(
      'x0: expected 3 numbers (one per column of A), got 2',
    );
    expect(inputError({ ...base(), xStar: [1, 2, 3, 4] }).message).toBe(
      'xStar: expected 3 numbers (one per column of A), got 4',
    );
    const n1 = inputError({ A: [[1]], b: [0], sigma: [1], x0: [1, 2] });
    expect(n1.message).toBe('x0: expected 1 number (one per column of A), got 2');
  });

  it('sigma outside [0, 1]', () => {
    const sigma = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 1.2];
    const A = sigma.map((_, i) => [1, i]);
    const error = inputError({ A, b: sigma.map(() => 0), sigma });
    expect(error.issues).toEqual([
      { path: 'sigma[7]', pointer: '/sigma/7', message: 'expected a score in [0, 1], got 1.2' },
    ]);
    expect(inputError({ ...base(), sigma: [0.5, -0.1, 0.5, 0.5] }).message).toBe(
      'sigma[1]: expected a score in [0, 1], got -0.1',
    );
  });

  it('numbers must be finite', () => {
    expect(inputError({ ...base(), b: [1, Number.NaN, 1, 1] }).message).toBe(
      'b[1]: expected a finite number, got NaN',
    );
    expect(inputError({ ...base(), b: [1, 1, Number.POSITIVE_INFINITY, 1] }).message).toBe(
      'b[2]: expected a finite number, got Infinity',
    );
    expect(inputError({ ...base(), b: [1, '1', null, 1] }).message).toBe(
      'b[1]: expected a finite number, got "1" (and 1 more problem)',
    );
    const A = base().A as number[][];
    A[2][1] = Number.NEGATIVE_INFINITY;
    expect(inputError({ ...base(), A }).issues).toEqual([
      { path: 'A[2][1]', pointer: '/A/2/1', message: 'expected a finite number, got -Infinity' },
    ]);
    expect(inputError({ ...base(), options: { tolerance: Number.POSITIVE_INFINITY } }).message).toBe(
      'options.tolerance: expected a number, got Infinity',
    );
  });

  it('signs must be 1 or -1', () => {
    expect(inputError({ ...base(), signs: [1, 0, -1, 1] }).message).toBe('signs[1]: expected 1 or -1, got 0');
  });

  it('method and options', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ method: 'bfgs' }, 'method: expected one of "newton", "gauss-newton", "gd", got "bfgs"'],
      [{ options: { maxIterations: 0 } }, 'options.maxIterations: expected a positive integer, got 0'],
      [{ options: { maxIterations: 2.5 } }, 'options.maxIterations: expected a positive integer, got 2.5'],
      [{ options: { maxIterations: '10' } }, 'options.maxIterations: expected a positive integer, got "10"'],
      [{ options: { tolerance: -1 } }, 'options.tolerance: expected a number >= 0, got -1'],
      [
        { options: { lossChangeTolerance: -1e-9 } },
        'options.lossChangeTolerance: expected a number >= 0, got -1e-9',
      ],
      [{ options: { stepSize: 0 } }, 'options.stepSize: expected a number > 0, got 0'],
      [{ options: { maxSeconds: -5 } }, 'options.maxSeconds: expected a number > 0, got -5'],
      [
        { options: { lineSearch: 'wolfe' } },
        'options.lineSearch: expected one of "armijo", "none", got "wolfe"',
      ],
      [{ options: { regularization: -1 } }, 'options.regularization: expected a number >= 0, got -1'],
      [
        { options: { regularization: 'x' } },
        'options.regularization: expected a weight >= 0 or an array of per-row weights, got "x"',
      ],
      [
        { options: { regularization: [1, 1, -2, 1] } },
        'options.regularization[2]: expected a number >= 0, got -2',
      ],
      [{ options: { record: { every: 0 } } }, 'options.record.every: expected a positive integer, got 0'],
      [
        { options: { record: { includeX: 'yes' } } },
        'options.record.includeX: expected a boolean, got "yes"',
      ],
      [{ options: [] }, 'options: expected an object, got an array of 0'],
    ];
    for (const [patch, message] of cases) expect(inputError({ ...base(), ...patch }).message).toBe(message);
  });

  it('unknown keys are rejected at every level, with a suggestion for typos', () => {
    expect(inputError({ ...base(), options: { maxIteration: 5 } }).issues).toEqual([
      {
        path: 'options.maxIteration',
        pointer: '/options/maxIteration',
        message: 'unknown key (did you mean "maxIterations"?)',
      },
    ]);
    expect(inputError({ ...base(), options: { record: { Every: 2 } } }).message).toBe(
      'options.record.Every: unknown key (did you mean "every"?)',
    );
    expect(inputError({ ...base(), Sigma: [] }).message).toBe('Sigma: unknown key (did you mean "sigma"?)');
    // keys that are not identifiers keep a readable path and an escaped pointer
    expect(inputError({ ...base(), 'a/b~c': 1 }).issues[0]).toMatchObject({
      path: '["a/b~c"]',
      pointer: '/a~1b~0c',
    });
  });

  it('rejects a document that is not an object', () => {
    for (const [json, message] of [
      [null, 'expected an object, got null'],
      [[1, 2], 'expected an object, got an array of 2'],
      ['{}', 'expected an object, got "{}"'],
    ] as const) {
      const error = inputError(json);
      expect(error.message).toBe(message);
      expect(error.issues[0]).toEqual({ path: '', pointer: '', message });
    }
  });

  it('reports a few bad entries per array and summarises the rest', () => {
    const A = Array.from({ length: 100 }, () => ['x', 1]);
    const error = inputError({ A, b: Array(100).fill(0), sigma: Array(100).fill(0.02) });
    expect(error.issues.map((issue) => issue.path)).toEqual([
      'A[0][0]',
      'A[1][0]',
      'A[2][0]',
      'A[3][0]',
      'A[4][0]',
      'A',
    ]);
    expect(error.issues[5].message).toBe('95 more invalid entries');
    expect(error.message).toBe('A[0][0]: expected a finite number, got "x" (and 5 more problems)');
  });

  it('InputError is an Error with a one-line message', () => {
    const error = inputError({ ...base(), b: 'x', sigma: 3 });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('InputError');
    expect(error.message).not.toContain('\n');
    expect(error.message).toBe('b: expected an array, got "x" (and 1 more problem)');
  });
});

describe('parseLeverageInput', () => {
  it('accepts A in either format and checks lengths', () => {
    const { problem, x } = parseLeverageInput({ A: { shape: [2, 1], data: [1, 2] }, b: [0, 1], x: [3] });
    expect(problem).toEqual({ n: 2, d: 1, A: new Float64Array([1, 2]), b: new Float64Array([0, 1]) });
    expect(x).toEqual(new Float64Array([3]));
    expect(inputError({ A: [[1], [2]], b: [0, 1], x: [1, 2] }, parseLeverageInput).message).toBe(
      'x: expected 1 number (one per column of A), got 2',
    );
    expect(inputError({ A: [[1], [2]], b: [0, 1], x: [1], sigma: [] }, parseLeverageInput).message).toBe(
      'sigma: unknown key; expected one of A, b, x',
    );
  });
});

describe('paths and pointers', () => {
  it('formats paths and RFC 6901 pointers', () => {
    expect(formatPath(['options', 'record', 'every'])).toBe('options.record.every');
    expect(formatPath(['A', 3, 1])).toBe('A[3][1]');
    expect(formatPath([])).toBe('');
    expect(toPointer(['A', 3])).toBe('/A/3');
    expect(toPointer(['a~/b'])).toBe('/a~0~1b');
    expect(toPointer([])).toBe('');
  });
});

describe('JSON Schema', () => {
  it('describes the document for an HTTP API', () => {
    const schema = problemJsonSchema() as {
      properties: Record<string, Record<string, unknown>>;
      required: string[];
      additionalProperties: boolean;
    };
    expect(schema.required).toEqual(['A', 'b', 'sigma']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.b).toEqual({ type: 'array', items: { type: 'number' } });
    expect(Object.keys(schema.properties)).toEqual([
      'A',
      'b',
      'sigma',
      'method',
      'x0',
      'signs',
      'xStar',
      'options',
    ]);
  });
});

describe('performance on a 100000 x 20 problem', () => {
  const n = 100_000;
  const d = 20;
  const rows = Array.from({ length: n }, (_, i) => Array.from({ length: d }, (_, j) => Math.sin(i * d + j)));
  const doc = { A: rows, b: Array(n).fill(-1), sigma: Array(n).fill(d / n) };

  it('parses in well under a couple of seconds', () => {
    const t0 = performance.now();
    const { problem } = parseProblem(doc);
    const ms = performance.now() - t0;
    expect(problem.A.length).toBe(n * d);
    expect(ms).toBeLessThan(2000);
  });

  it('fails fast when every entry is bad', () => {
    const bad = { ...doc, A: rows.map((row) => row.map(() => 'x')) };
    const t0 = performance.now();
    const error = inputError(bad);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(error.issues).toHaveLength(6);
  });
});

describe('x0 without signs', () => {
  const doc = generateProblem({ n: 60, d: 4, seed: 8, signs: 'mixed' });
  const centre = Array.from(findStart(parseProblem(doc).problem));

  it('leaves the cell to x0: the solve converges to xStar in the cell x0 lies in', () => {
    const { signs: _signs, ...withoutSigns } = doc;
    const parsed = parseProblem({ ...withoutSigns, x0: centre });
    expect(parsed.problem.signs).toBeUndefined();
    expect(Array.from(parsed.problem.x0!)).toEqual(centre);
    const result = solve(parsed.problem, parsed.options);
    expect(result.converged).toBe(true);
    const err = Math.hypot(...result.x.map((v, j) => v - doc.xStar[j])) / Math.hypot(...doc.xStar);
    expect(err).toBeLessThan(1e-8);
  });

  it('with both given they must agree', () => {
    const parsed = parseProblem({ ...doc, signs: doc.signs!.map(() => 1), x0: centre });
    expect(() => solve(parsed.problem, parsed.options)).toThrow(SolverError);
    try {
      solve(parsed.problem, parsed.options);
    } catch (error) {
      expect((error as SolverError).code).toBe('X0_OUTSIDE_CELL');
    }
  });
});
