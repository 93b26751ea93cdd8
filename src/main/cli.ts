#!/usr/bin/env node
/**
 * The `levinv` command. All logic is in `runCli`, which takes its streams as arguments and returns the exit
 * code, so tests drive it in-process; the entry at the bottom only wires up the real process.
 */
import { readFileSync, realpathSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { InputError } from '../problem/errors.js';
import { generateProblem, SIGN_PATTERNS, type SignPattern } from '../problem/generate.js';
import { parseLeverageInput, parseProblem } from '../problem/parse.js';
import {
  defaultSolverThreads,
  leverageScores,
  METHODS,
  type Method,
  parseKernelChoice,
  type SolveHooks,
  solve,
  useKernels,
  useSolverThreads,
} from '../solver/index.js';
import { CliError, classifyError, EXIT_OK, EXIT_USAGE } from './cli-errors.js';
import { isDirectory, npyForm, readJson, writeNpyProblem, writeText } from './cli-io.js';
import { createProgress, formatStart } from './cli-progress.js';
import { DEFAULT_API_URL, submitProblem } from './cli-submit.js';
import { configSchema } from './config.js';

export {
  EXIT_CANT_CREATE,
  EXIT_DATA,
  EXIT_NO_INPUT,
  EXIT_OK,
  EXIT_SOFTWARE,
  EXIT_USAGE,
} from './cli-errors.js';
export { EXIT_TEMP_FAIL, EXIT_UNAVAILABLE } from './cli-submit.js';

export interface CliIo {
  stdin: NodeJS.ReadableStream;
  stdout: Writable;
  stderr: Writable;
  stderrIsTTY: boolean;
}

export const USAGE = `Usage: levinv <command> [options]

Inverts leverage scores: finds x such that diag(A x - b)^-1 A has the target leverage scores sigma.

Commands:
  solve FILE|-          solve the problem in FILE (- reads stdin); prints the result JSON
      --method METHOD   newton | gauss-newton | gd (overrides the file's method)
      --out FILE        write the result to FILE instead of stdout
  generate              print a random problem with a known answer xStar
      --n N             rows (required)
      --d D             columns, 1 <= D <= N (required)
      --seed S          integer seed (default 1)
      --signs SIGNS     positive | mixed (default positive; mixed: ~30% negative slacks); the cell
                        of xStar is written as signs (+1/-1 per row)
      --hide-cell       leave the signs out (the solver then finds the cell from the scores alone)
      --format FORMAT   json (default) | npy: one NumPy .npy file (float64) per array, in --out DIR
      --out PATH        write the JSON to PATH, or the .npy files into the directory PATH
  leverage FILE|-       print sigma(x) for the { A, b, x } in FILE (- reads stdin)
  submit FILE|-         send the problem to a levinv service; prints the job JSON
      --url URL         the service (default ${DEFAULT_API_URL})
      --api-key KEY     the API key, when the service has them (default: $LEVINV_API_KEY)
      --wait            follow the job until it is done (progress on stderr) and print the final job
  submit FILE.npy...|DIR  send .npy arrays (A, b, sigma, ...: named by file) as a binary upload
      --json FILE       the rest of the problem (method, options) as JSON
  help                  print this text

Options:
  -h, --help            print this text
  -v, --version         print the version

Exit codes: 0 success, 64 usage error, 65 invalid input data (or a failed job), 66 input file not
readable, 69 service unreachable, 70 numerical breakdown or internal error, 73 output file not
writable, 75 job cancelled (or still refused after retries), 77 API key missing or refused.
`;

const SEE_HELP = '(see levinv --help)';

function usageError(message: string): CliError {
  return new CliError(EXIT_USAGE, `${message} ${SEE_HELP}`);
}

/** parseArgs with its errors turned into one-line usage errors. */
function parseCommandArgs<O extends Record<string, { type: 'string' | 'boolean'; short?: string }>>(
  command: string,
  args: string[],
  options: O,
) {
  try {
    return parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    // Node's messages run on with advice about '--'; the first sentence is the diagnosis.
    const first = (error as Error).message.split(/\.\s|\.$|\n/)[0];
    throw usageError(`${command}: ${first.charAt(0).toLowerCase()}${first.slice(1)}`);
  }
}

/** The one FILE|- positional of solve, leverage and submit. */
function singleInput(command: string, positionals: string[]): string {
  if (positionals.length === 1) return positionals[0];
  if (positionals.length === 0) throw usageError(`${command}: expected an input FILE (or - for stdin)`);
  throw usageError(
    `${command}: expected one input FILE, got ${positionals.length}: ${positionals.join(' ')}`,
  );
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw usageError(`invalid ${flag} '${value}': expected ${allowed.join(', ')}`);
}

function integerFlag(flag: string, value: string): number {
  const parsed = Number(value);
  if (!/^[+-]?\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed)) {
    throw usageError(`invalid ${flag} '${value}': expected an integer`);
  }
  return parsed;
}

function euclideanNorm(v: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i] * v[i];
  return Math.sqrt(sum);
}

/** ||x - xStar|| / ||xStar||, or the absolute error when xStar = 0 (where the ratio means nothing). */
export function relativeError(x: readonly number[], xStar: Float64Array): number {
  const diff = x.map((v, i) => v - xStar[i]);
  const scale = euclideanNorm(xStar);
  return euclideanNorm(diff) / (scale > 0 ? scale : 1);
}

async function solveCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('solve', args, {
    method: { type: 'string' },
    out: { type: 'string' },
  });
  if (values.help) return printUsage(io.stdout);
  const source = singleInput('solve', positionals);
  const method = values.method === undefined ? undefined : oneOf<Method>('--method', values.method, METHODS);

  const { problem, options, xStar } = parseProblem(await readJson(source, io.stdin));
  if (method !== undefined) options.method = method;

  const progress = io.stderrIsTTY ? createProgress(io.stderr) : undefined;
  const hooks: SolveHooks = progress ? { onIterate: (iterate) => progress.update(iterate) } : {};
  let result: ReturnType<typeof solve>;
  try {
    result = solve(problem, options, hooks);
  } finally {
    // Also on failure, so that the error line does not land on the end of the progress line.
    progress?.end();
  }
  if (progress) io.stderr.write(formatStart(result, problem.n));

  const output = xStar ? { ...result, relError: relativeError(result.x, xStar) } : result;
  const text = `${JSON.stringify(output, null, 2)}\n`;
  if (values.out !== undefined) await writeText(values.out, text);
  else io.stdout.write(text);
  return EXIT_OK;
}

async function generateCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('generate', args, {
    n: { type: 'string' },
    d: { type: 'string' },
    seed: { type: 'string' },
    signs: { type: 'string' },
    'hide-cell': { type: 'boolean' },
    format: { type: 'string' },
    out: { type: 'string' },
  });
  if (values.help) return printUsage(io.stdout);
  if (positionals.length > 0) throw usageError(`generate: unexpected argument '${positionals[0]}'`);
  const format =
    values.format === undefined ? 'json' : oneOf('--format', values.format, ['json', 'npy'] as const);
  if (format === 'npy' && values.out === undefined) {
    throw usageError('generate: --format npy writes one file per array: give the directory with --out DIR');
  }
  if (values.n === undefined || values.d === undefined)
    throw usageError('generate: --n and --d are required');
  const n = integerFlag('--n', values.n);
  const d = integerFlag('--d', values.d);
  if (d < 1) throw usageError(`invalid --d ${d}: expected at least 1`);
  if (n < d) throw usageError(`invalid --n ${n}: expected at least --d (${d})`);
  const seed = values.seed === undefined ? 1 : integerFlag('--seed', values.seed);
  const signs =
    values.signs === undefined ? 'positive' : oneOf<SignPattern>('--signs', values.signs, SIGN_PATTERNS);

  let problem: ReturnType<typeof generateProblem>;
  try {
    problem = generateProblem({ n, d, seed, signs });
  } catch (error) {
    // Every generator input came from a flag, so its complaints (e.g. n too close to d) are usage errors.
    if (error instanceof InputError) throw usageError(`generate: ${error.message}`);
    throw error;
  }
  // xStar stays: it is the answer the result's relError is measured against, not a hint
  // the cell of xStar is part of what was generated (all +1 for --signs positive), unless hidden
  if (values['hide-cell']) delete problem.signs;
  else problem.signs ??= new Array<number>(n).fill(1);
  if (format === 'npy') {
    await writeNpyProblem(values.out!, problem);
    return EXIT_OK;
  }
  const text = `${JSON.stringify(problem)}\n`;
  if (values.out !== undefined) await writeText(values.out, text);
  else io.stdout.write(text);
  return EXIT_OK;
}

async function leverageCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('leverage', args, {});
  if (values.help) return printUsage(io.stdout);
  const source = singleInput('leverage', positionals);
  const { problem, x } = parseLeverageInput(await readJson(source, io.stdin));
  io.stdout.write(`${JSON.stringify(Array.from(leverageScores(problem, x)))}\n`);
  return EXIT_OK;
}

async function submitCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('submit', args, {
    url: { type: 'string' },
    'api-key': { type: 'string' },
    wait: { type: 'boolean' },
    json: { type: 'string' },
  });
  if (values.help) return printUsage(io.stdout);
  const apiKey = values['api-key'] ?? process.env.LEVINV_API_KEY;
  const options = {
    url: values.url ?? DEFAULT_API_URL,
    wait: values.wait === true,
    ...(apiKey ? { apiKey } : {}),
  };
  // .npy files (or a directory of them) go as a binary multipart upload
  if (positionals.length > 0 && positionals.every((p) => p.endsWith('.npy') || isDirectory(p))) {
    const json =
      values.json === undefined ? undefined : JSON.stringify(await readJson(values.json, io.stdin));
    return submitProblem(undefined, options, io, await npyForm(positionals, json));
  }
  if (values.json !== undefined)
    throw usageError('submit: --json goes with .npy files (the rest of the problem)');
  const doc = await readJson(singleInput('submit', positionals), io.stdin);
  return submitProblem(doc, options, io);
}

function printUsage(stream: Writable): number {
  stream.write(USAGE);
  return EXIT_OK;
}

/** The package version, read at call time from the package.json two levels above src/main or dist/main. */
export function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

async function dispatch(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
      io.stderr.write(USAGE);
      return EXIT_USAGE;
    case 'help':
    case '--help':
    case '-h':
      return printUsage(io.stdout);
    case '--version':
    case '-v':
      io.stdout.write(`${packageVersion()}\n`);
      return EXIT_OK;
    case 'solve':
      return solveCommand(rest, io);
    case 'generate':
      return generateCommand(rest, io);
    case 'leverage':
      return leverageCommand(rest, io);
    case 'submit':
      return submitCommand(rest, io);
    default:
      if (command.startsWith('-')) throw usageError(`unknown option '${command}'`);
      throw usageError(`unknown command '${command}'`);
  }
}

/** Runs `levinv` with `argv` (the arguments after the program name) and returns the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    const { exitCode, lines } = classifyError(error);
    for (const line of lines) io.stderr.write(`levinv: ${line}\n`);
    return exitCode;
  }
}

/** True when this file is the program node started, also through npm's bin symlink. */
function isMainModule(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isMainModule()) {
  // LEVINV_KERNELS: the solver's row kernels (auto, wasm, js); as the service reads it, exit 78 when bad
  try {
    useKernels(parseKernelChoice(process.env.LEVINV_KERNELS));
  } catch (error) {
    process.stderr.write(
      `levinv: invalid environment variable LEVINV_KERNELS: ${(error as Error).message}\n`,
    );
    process.exit(78);
  }
  // SOLVER_THREADS: threads per solve, as the worker reads it; unset: all cores (one solve at a time here)
  const threads = configSchema.shape.SOLVER_THREADS.safeParse(process.env.SOLVER_THREADS || undefined);
  if (!threads.success) {
    process.stderr.write(
      `levinv: invalid environment variable SOLVER_THREADS: ${threads.error.issues[0].message}\n`,
    );
    process.exit(78);
  }
  useSolverThreads(threads.data ?? defaultSolverThreads());
  // `levinv generate ... | head` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? EXIT_OK);
    process.stderr.write(`levinv: cannot write to stdout: ${error.message}\n`);
    process.exit(70);
  });
  process.exitCode = await runCli(process.argv.slice(2), {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    stderrIsTTY: process.stderr.isTTY === true,
  });
}
