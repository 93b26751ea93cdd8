import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXIT_DATA, EXIT_NO_INPUT, EXIT_OK, EXIT_USAGE, USAGE } from '../../src/main/cli.js';
import type { GeneratedProblem } from '../../src/problem/generate.js';
import { parseNpy } from '../../src/problem/npy.js';
import { type CliRun, runCliCaptured } from '../helpers/run-cli.js';

const run = runCliCaptured;

const workDir = mkdtempSync(join(tmpdir(), 'levinv-cli-'));
const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

async function generated(args: string[]): Promise<GeneratedProblem> {
  const { code, stdout, stderr } = await run(['generate', ...args]);
  expect(stderr).toBe('');
  expect(code).toBe(EXIT_OK);
  expect(stdout.trimEnd()).not.toContain('\n');
  return JSON.parse(stdout) as GeneratedProblem;
}

describe('help and version', () => {
  it('prints usage for --help, -h and help', async () => {
    for (const argv of [['--help'], ['-h'], ['help'], ['solve', '--help'], ['generate', '-h']]) {
      expect(await run(argv)).toEqual({ code: EXIT_OK, stdout: USAGE, stderr: '' });
    }
  });

  it('prints usage on stderr and exits 64 without arguments', async () => {
    expect(await run([])).toEqual({ code: EXIT_USAGE, stdout: '', stderr: USAGE });
  });

  it('prints the package version', async () => {
    expect(await run(['--version'])).toEqual({ code: EXIT_OK, stdout: `${version}\n`, stderr: '' });
  });
});

describe('generate, solve, leverage', () => {
  let problem: GeneratedProblem;
  let problemFile: string;

  beforeAll(async () => {
    problem = await generated(['--n', '60', '--d', '4', '--seed', '3']);
    problemFile = join(workDir, 'problem.json');
    writeFileSync(problemFile, JSON.stringify(problem));
  });

  it('generates deterministically', async () => {
    expect(problem.A).toHaveLength(60);
    expect(problem.xStar).toHaveLength(4);
    // the cell of xStar comes with it: all +1 for --signs positive
    expect(problem.signs).toEqual(new Array(60).fill(1));
    expect(await generated(['--n', '60', '--d', '4', '--seed', '3'])).toEqual(problem);
    const mixed = await generated(['--n', '60', '--d', '4', '--signs', 'mixed']);
    expect(mixed.signs).toHaveLength(60);
    const hidden = await generated(['--n', '60', '--d', '4', '--signs', 'mixed', '--hide-cell']);
    expect(hidden.signs).toBeUndefined();
    expect(hidden.xStar).toEqual(mixed.xStar);
  });

  it("solves a mixed-sign problem generated with its cell hidden: the cell found is the generator's", async () => {
    const mixed = await generated(['--n', '200', '--d', '6', '--seed', '4', '--signs', 'mixed']);
    const hidden = await generated([
      '--n',
      '200',
      '--d',
      '6',
      '--seed',
      '4',
      '--signs',
      'mixed',
      '--hide-cell',
    ]);
    const { code, stdout } = await run(['solve', '-'], { stdin: JSON.stringify(hidden) });
    expect(code).toBe(EXIT_OK);
    const result = JSON.parse(stdout);
    expect(result.startMethod).toBe('global');
    expect(result.signs).toEqual(mixed.signs);
    expect(result.relError).toBeLessThan(1e-10);
  });

  it('writes the same problem as .npy files with --format npy --out DIR, and asks for DIR', async () => {
    const dir = join(workDir, 'npy');
    const { code, stdout, stderr } = await run([
      'generate',
      '--n',
      '60',
      '--d',
      '4',
      '--seed',
      '3',
      '--format',
      'npy',
      '--out',
      dir,
    ]);
    expect({ code, stdout, stderr }).toEqual({ code: EXIT_OK, stdout: '', stderr: '' });
    const read = (name: string) => parseNpy(new Uint8Array(readFileSync(join(dir, `${name}.npy`))), name);
    expect(read('A').shape).toEqual([60, 4]);
    expect([...read('A').data]).toEqual(problem.A.flat());
    for (const name of ['b', 'sigma', 'xStar'] as const) {
      expect(read(name).shape).toEqual([problem[name].length]);
      expect([...read(name).data]).toEqual(problem[name]);
    }
    expect(read('signs').shape).toEqual([60]);
    expect([...read('signs').data]).toEqual(new Array(60).fill(1));
    const missing = await run(['generate', '--n', '6', '--d', '2', '--format', 'npy']);
    expect(missing.code).toBe(EXIT_USAGE);
    expect(missing.stderr).toMatch(
      /--format npy writes one file per array: give the directory with --out DIR/,
    );
    const unknown = await run(['generate', '--n', '6', '--d', '2', '--format', 'csv']);
    expect(unknown.code).toBe(EXIT_USAGE);
    expect(unknown.stderr).toMatch(/invalid --format 'csv': expected json, npy/);
  });

  it('solves a generated problem from stdin, recovering xStar', async () => {
    const { code, stdout, stderr } = await run(['solve', '-'], { stdin: JSON.stringify(problem) });
    expect(stderr).toBe('');
    expect(code).toBe(EXIT_OK);
    expect(stdout.endsWith('}\n')).toBe(true);
    const result = JSON.parse(stdout);
    expect(result.converged).toBe(true);
    expect(result.method).toBe('newton');
    expect(result.relError).toBeLessThan(1e-8);
  });

  it('solves a mixed-sign problem', async () => {
    const mixed = await generated(['--n', '60', '--d', '4', '--seed', '8', '--signs', 'mixed']);
    const { code, stdout } = await run(['solve', '-'], { stdin: JSON.stringify(mixed) });
    expect(code).toBe(EXIT_OK);
    const result = JSON.parse(stdout);
    expect(result.converged).toBe(true);
    expect(result.relError).toBeLessThan(1e-8);
  });

  it('solves a mixed-sign problem given x0 and no signs, in the cell x0 lies in', async () => {
    const mixed = await generated(['--n', '60', '--d', '4', '--seed', '8', '--signs', 'mixed']);
    // A point of the true cell: its analytic centre, which solve reports as the start.
    const centre = JSON.parse(
      (await run(['solve', '-'], { stdin: JSON.stringify({ ...mixed, options: { maxIterations: 1 } }) }))
        .stdout,
    ).start as number[];
    const { signs: _signs, ...withoutSigns } = mixed;
    const { code, stdout, stderr } = await run(['solve', '-'], {
      stdin: JSON.stringify({ ...withoutSigns, x0: centre }),
    });
    expect(stderr).toBe('');
    expect(code).toBe(EXIT_OK);
    const result = JSON.parse(stdout);
    expect(result.start).toEqual(centre);
    expect(result.converged).toBe(true);
    expect(result.relError).toBeLessThan(1e-8);
  });

  it('solves a 150000-row problem (an n-length spread overflowed the stack from about 130k)', async () => {
    const big = await generated(['--n', '150000', '--d', '2', '--seed', '5']);
    const { code, stdout, stderr } = await run(['solve', '-'], {
      // from the centre, as before the global start (which lands on xStar here and leaves no iteration)
      stdin: JSON.stringify({
        ...big,
        options: { maxIterations: 2, start: 'centre', record: { includeX: false } },
      }),
    });
    expect(stderr).toBe('');
    expect(code).toBe(EXIT_OK);
    const result = JSON.parse(stdout);
    expect(result.iterations).toBeGreaterThanOrEqual(1);
    expect(result.relError).toBeLessThan(1e-3);
  });

  it('writes the result to --out and uses --method', async () => {
    const out = join(workDir, 'result.json');
    const { code, stdout, stderr } = await run([
      'solve',
      problemFile,
      '--out',
      out,
      '--method',
      'gauss-newton',
    ]);
    expect({ code, stdout, stderr }).toEqual({ code: EXIT_OK, stdout: '', stderr: '' });
    const text = readFileSync(out, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const result = JSON.parse(text);
    expect(result.method).toBe('gauss-newton');
    expect(result.converged).toBe(true);
    expect(result.relError).toBeLessThan(1e-8);
  });

  it('shows live progress on a terminal, ending the line', async () => {
    const { code, stdout, stderr } = await run(['solve', problemFile], { tty: true });
    expect(code).toBe(EXIT_OK);
    expect(JSON.parse(stdout).converged).toBe(true);
    const [firstLine] = stderr.split('\x1b[K');
    expect(firstLine).toMatch(/^\r {2}iter 0 {2}loss \d\.\de[+-]\d+ {2}\|g\| \d\.\de[+-]\d+$/);
    // the progress line ends, then one line on the start: an all-positive problem, its cell given
    const lines = stderr.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0].endsWith('\x1b[K')).toBe(true);
    expect(lines[1]).toBe('  start global-signs  negative slacks 0 of 60');
    expect(lines[2]).toBe('');
  });

  it('finds the cell of a mixed-sign problem given without signs: the result and the terminal say so', async () => {
    const mixed = await generated(['--n', '60', '--d', '4', '--seed', '2', '--signs', 'mixed']);
    const { signs, ...withoutSigns } = mixed;
    const negatives = signs!.filter((s) => s < 0).length;
    expect(negatives).toBeGreaterThan(5);
    const { code, stdout, stderr } = await run(['solve', '-'], {
      stdin: JSON.stringify(withoutSigns),
      tty: true,
    });
    expect(code).toBe(EXIT_OK);
    const result = JSON.parse(stdout);
    expect(result.startMethod).toBe('global');
    expect(result.negativeSlacks).toBe(negatives);
    expect(result.signs).toEqual(signs);
    expect(result.relError).toBeLessThan(1e-8);
    expect(stderr.split('\n').slice(1)).toEqual([`  start global  negative slacks ${negatives} of 60`, '']);
  });

  it('shows the ambiguity on the terminal: b = 0 leaves -x with the same scores', async () => {
    const { A, xStar } = problem;
    const b = problem.b.map(() => 0);
    const scores = await run(['leverage', '-'], { stdin: JSON.stringify({ A, b, x: xStar }) });
    const sigma = JSON.parse(scores.stdout) as number[];
    const { code, stdout, stderr } = await run(['solve', '-'], {
      stdin: JSON.stringify({ A, b, sigma }),
      tty: true,
    });
    expect(code).toBe(EXIT_OK);
    const result = JSON.parse(stdout);
    expect(result.ambiguity).toMatch(/^b = 0/);
    expect(result.alternatives).toEqual([result.x.map((v: number) => -v)]);
    const lines = stderr.split('\n');
    expect(lines[1]).toMatch(/^ {2}start global {2}negative slacks \d+ of 60$/);
    expect(lines[2]).toBe(`  note: ${result.ambiguity}`);
  });

  it('prints leverage scores at xStar equal to the target', async () => {
    const input = JSON.stringify({ A: problem.A, b: problem.b, x: problem.xStar });
    const { code, stdout, stderr } = await run(['leverage', '-'], { stdin: input });
    expect(stderr).toBe('');
    expect(code).toBe(EXIT_OK);
    const scores = JSON.parse(stdout) as number[];
    expect(scores).toHaveLength(60);
    scores.forEach((s, i) => {
      expect(Math.abs(s - problem.sigma[i])).toBeLessThan(1e-12);
    });
    // the flat A format gives the same scores
    const flat = { A: { shape: [60, 4], data: problem.A.flat() }, b: problem.b, x: problem.xStar };
    const file = join(workDir, 'leverage.json');
    writeFileSync(file, JSON.stringify(flat));
    expect((await run(['leverage', file])).stdout).toBe(stdout);
  });
});

describe('errors: one line on stderr and the exit code', () => {
  it('64 for usage errors', async () => {
    const cases: [string[], string][] = [
      [['frobnicate'], "unknown command 'frobnicate'"],
      [['--frob'], "unknown option '--frob'"],
      [['solve', '--frob', 'p.json'], "solve: unknown option '--frob'"],
      [['solve'], 'solve: expected an input FILE (or - for stdin)'],
      [['solve', 'a.json', 'b.json'], 'solve: expected one input FILE, got 2: a.json b.json'],
      [['solve', 'p.json', '--method', 'foo'], "invalid --method 'foo': expected newton, gauss-newton, gd"],
      [['leverage'], 'leverage: expected an input FILE (or - for stdin)'],
      [['generate', '--n', 'abc', '--d', '2'], "invalid --n 'abc': expected an integer"],
      [['generate', '--n', '10', '--d', '2.5'], "invalid --d '2.5': expected an integer"],
      [['generate', '--n', '10', '--d', '2', '--seed', 'x'], "invalid --seed 'x': expected an integer"],
      [['generate', '--n'], "generate: option '--n <value>' argument missing"],
      [['generate', '--d', '2'], 'generate: --n and --d are required'],
      [['generate', '--n', '3', '--d', '4'], 'invalid --n 3: expected at least --d (4)'],
      [['generate', '--n', '3', '--d', '0'], 'invalid --d 0: expected at least 1'],
      [
        ['generate', '--n', '9', '--d', '2', '--signs', 'negative'],
        "invalid --signs 'negative': expected positive, mixed",
      ],
      [['generate', 'extra', '--n', '9', '--d', '2'], "generate: unexpected argument 'extra'"],
    ];
    for (const [argv, message] of cases) {
      expect(await run(argv)).toEqual({
        code: EXIT_USAGE,
        stdout: '',
        stderr: `levinv: ${message} (see levinv --help)\n`,
      });
    }
  });

  it('64 when the generator finds no bounded cell (n = d)', async () => {
    const { code, stderr } = await run(['generate', '--n', '3', '--d', '3']);
    expect(code).toBe(EXIT_USAGE);
    expect(stderr).toBe(
      'levinv: generate: n: no draw in 20 gave a bounded cell for n = 3, d = 3; use more rows (n well above d) (see levinv --help)\n',
    );
  });

  it('66 when the input file cannot be read', async () => {
    expect(await run(['solve', '/nonexistent/p.json'])).toEqual({
      code: EXIT_NO_INPUT,
      stdout: '',
      stderr: 'levinv: cannot read /nonexistent/p.json: no such file\n',
    });
    expect(await run(['leverage', workDir])).toEqual({
      code: EXIT_NO_INPUT,
      stdout: '',
      stderr: `levinv: cannot read ${workDir}: is a directory\n`,
    });
  });

  it('65 for malformed JSON, with the parser message', async () => {
    const { code, stdout, stderr } = await run(['solve', '-'], { stdin: '{"A": [1,' });
    expect(code).toBe(EXIT_DATA);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^levinv: stdin: malformed JSON: \S.*\n$/);
    expect(stderr.split('\n')).toHaveLength(2);
    expect((await run(['solve', '-'], { stdin: '  \n' })).stderr).toBe(
      'levinv: stdin: malformed JSON: empty input\n',
    );
    const file = join(workDir, 'bad.json');
    writeFileSync(file, 'not json');
    expect((await run(['leverage', file])).stderr).toMatch(
      new RegExp(`^levinv: ${file}: malformed JSON: .+\\n$`),
    );
  });

  it('65 for input that fails validation, naming the field', async () => {
    const doc = { A: [[1, 2], [3], [5, 6]], b: [0, 0, 0], sigma: [1, 1, 0] };
    expect(await run(['solve', '-'], { stdin: JSON.stringify(doc) })).toEqual({
      code: EXIT_DATA,
      stdout: '',
      stderr: 'levinv: A[1]: expected 2 numbers, got 1\n',
    });
    const leverage = { A: [[1], [2]], b: [0, 0], x: [1], sigma: [0.5, 0.5] };
    expect(await run(['leverage', '-'], { stdin: JSON.stringify(leverage) })).toEqual({
      code: EXIT_DATA,
      stdout: '',
      stderr: 'levinv: sigma: unknown key; expected one of A, b, x\n',
    });
  });

  it('65 for a document with several bad fields, one line for each (as the API lists them all)', async () => {
    const doc = {
      A: [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      b: [0, 'y', 0],
      sigma: [0.5, 2, -1],
      options: { maxIterations: -3 },
    };
    expect(await run(['solve', '-'], { stdin: JSON.stringify(doc) })).toEqual({
      code: EXIT_DATA,
      stdout: '',
      stderr: [
        'levinv: b[1]: expected a finite number, got "y"',
        'levinv: sigma[1]: expected a score in [0, 1], got 2',
        'levinv: sigma[2]: expected a score in [0, 1], got -1',
        'levinv: options.maxIterations: expected a positive integer, got -3',
        '',
      ].join('\n'),
    });
  });

  it('65 for a problem the solver rejects (a start point outside the cell)', async () => {
    // the cell {x1 > 0, x2 > 0, x1 + x2 < 3}; x0 = (-1, 1) lies outside it
    const doc = {
      signs: [1, 1, 1],
      A: [
        [1, 0],
        [0, 1],
        [-1, -1],
      ],
      b: [0, 0, -3],
      sigma: [0.6, 0.7, 0.7],
      x0: [-1, 1],
    };
    const { code, stdout, stderr } = await run(['solve', '-'], { stdin: JSON.stringify(doc) });
    expect(code).toBe(EXIT_DATA);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^levinv: .*x0.*\n$/);
    expect(stderr.split('\n')).toHaveLength(2);
  });
});

describe('the compiled command (dist/main/cli.js)', () => {
  const cli = resolve('dist/main/cli.js');

  function node(args: string[], input?: string): Promise<CliRun> {
    if (!existsSync(cli)) {
      throw new Error(`${cli} is missing: run "npm run build" first ("npm test" builds before testing)`);
    }
    return new Promise((done) => {
      const child = execFile(process.execPath, [cli, ...args], (error, stdout, stderr) => {
        done({ code: error ? Number(error.code) : 0, stdout, stderr });
      });
      child.stdin?.end(input ?? '');
    });
  }

  it('prints one line and no stack trace for a missing file', async () => {
    const { code, stdout, stderr } = await node(['solve', join(workDir, 'missing.json')]);
    expect(code).toBe(EXIT_NO_INPUT);
    expect(stdout).toBe('');
    expect(stderr).toBe(`levinv: cannot read ${join(workDir, 'missing.json')}: no such file\n`);
  });

  it('prints one line and no stack trace for bad input on stdin', async () => {
    const { code, stderr } = await node(['solve', '-'], '{"A": "x", "b": [], "sigma": []}');
    expect(code).toBe(EXIT_DATA);
    expect(stderr).toBe(
      'levinv: A: expected an array of rows or an object { shape: [n, d], data }, got "x"\n',
    );
    const malformed = await node(['leverage', '-'], '{');
    expect(malformed.code).toBe(EXIT_DATA);
    expect(malformed.stderr).toMatch(/^levinv: stdin: malformed JSON: [^\n]+\n$/);
    expect(malformed.stderr).not.toMatch(/\bat .*\.js:\d+/);
  });

  it('runs as a program of its own through its bin link, as `npx levinv` runs it (executable, shebang)', async () => {
    const link = join(workDir, 'levinv-bin');
    if (!existsSync(link)) symlinkSync(cli, link);
    const run = await new Promise<CliRun>((done) => {
      execFile(link, ['--version'], (error, stdout, stderr) =>
        done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr: stderr || String(error ?? '') }),
      );
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(EXIT_OK);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('runs through a symlink, as an npm bin link does', async () => {
    const link = join(workDir, 'levinv');
    if (!existsSync(link)) symlinkSync(cli, link);
    const child = await new Promise<CliRun>((done) => {
      execFile(process.execPath, [link, '--version'], (error, stdout, stderr) =>
        done({ code: error ? Number(error.code) : 0, stdout, stderr }),
      );
    });
    expect(child).toEqual({ code: EXIT_OK, stdout: `${version}\n`, stderr: '' });
  });

  it('solves what generate prints, through real pipes', async () => {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run "npm run build" first`);
    const script = 'set -o pipefail; "$0" "$1" generate --n 60 --d 4 --seed 11 | "$0" "$1" solve -';
    const result = await new Promise<CliRun>((done) => {
      execFile('bash', ['-c', script, process.execPath, cli], (error, stdout, stderr) =>
        done({ code: error ? Number(error.code) : 0, stdout, stderr }),
      );
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(EXIT_OK);
    const solved = JSON.parse(result.stdout);
    expect(solved.converged).toBe(true);
    expect(solved.relError).toBeLessThan(1e-8);
  });
});
