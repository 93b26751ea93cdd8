/**
 * `levinv submit`: sends a problem to a running levinv API with the typed client (src/client), prints the
 * job, and with `--wait` follows it (its event stream, reconnecting with Last-Event-ID) until it is done.
 */
import type { Writable } from 'node:stream';
import { LevinvClient, LevinvError, LevinvNetworkError } from '../client/index.js';
import type { Job, Progress } from '../client/types.js';
import { formatPath } from '../problem/errors.js';
import { SolverError, type SolverErrorCode } from '../solver/index.js';
import {
  CliError,
  classifyError,
  EXIT_DATA,
  EXIT_OK,
  EXIT_SOFTWARE,
  EXIT_USAGE,
  issueLine,
} from './cli-errors.js';
import { createProgress, formatStart, type Progress as ProgressLine } from './cli-progress.js';

// Tests and benchmarks read event streams with the parser that moved into the client.
export { parseEventStream, type SseEvent } from '../client/sse.js';

/** the service cannot be reached, or answers 503 (EX_UNAVAILABLE) */
export const EXIT_UNAVAILABLE = 69;
/** the job was cancelled before it finished (EX_TEMPFAIL: submitting again may work) */
export const EXIT_TEMP_FAIL = 75;
/** the service refused the API key, or none was given where one is needed (EX_NOPERM) */
export const EXIT_NO_PERMISSION = 77;

export const DEFAULT_API_URL = 'http://127.0.0.1:3000';

export interface SubmitOptions {
  url: string;
  wait: boolean;
  /** sent as `Authorization: Bearer <apiKey>` on every request */
  apiKey?: string;
}

export interface SubmitIo {
  stdout: Writable;
  stderr: Writable;
  stderrIsTTY: boolean;
}

/** The service's base URL, checked up front so a typo is a usage error, not a connection error. */
export function apiBase(url: string): URL {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new CliError(EXIT_USAGE, `invalid --url '${url}': expected an http:// or https:// URL`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new CliError(EXIT_USAGE, `invalid --url '${url}': expected an http:// or https:// URL`);
  }
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return base;
}

/** Tries of a request answered 429 or 503 before giving up. */
const MAX_TRIES = 6;
/** the longest Retry-After honoured between tries */
const MAX_RETRY_AFTER_S = 30;

/** A client error as the CLI's one line and exit code: the problem+json detail when there is one. */
function cliError(error: unknown): unknown {
  if (error instanceof LevinvNetworkError) return new CliError(EXIT_UNAVAILABLE, error.message);
  if (!(error instanceof LevinvError)) return error;
  const { status, detail } = error;
  if (status === 503) return new CliError(EXIT_UNAVAILABLE, `service unavailable: ${detail}`);
  if (status === 401 || status === 403) {
    return new CliError(EXIT_NO_PERMISSION, `${detail} (pass --api-key or set LEVINV_API_KEY)`);
  }
  if (status === 429) return new CliError(EXIT_TEMP_FAIL, `refused for now: ${detail}`);
  if (status >= 500) return new CliError(EXIT_SOFTWARE, `server error: ${detail}`);
  // a 400 lists every bad field: print them all, each as `levinv solve` names it (A[1], not /A/1)
  const lines = error.errors.map(errorLine);
  if (lines.length > 0) return new CliError(EXIT_DATA, lines[0], lines.slice(1));
  return new CliError(EXIT_DATA, detail);
}

/** One entry of a problem+json `errors` list as a line: its field (a JSON pointer as a path) and detail. */
function errorLine(entry: LevinvError['errors'][number]): string {
  const e = entry as { pointer?: string; parameter?: string; header?: string; detail: string };
  if (e.pointer !== undefined) {
    const segments = e.pointer
      .split('/')
      .slice(1)
      .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
      .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
    return issueLine({ path: formatPath(segments), pointer: e.pointer, message: e.detail });
  }
  const name = e.parameter ?? e.header;
  return name === undefined ? e.detail : `${name}: ${e.detail}`;
}

/** Draws a progress event (a non-finite loss or gradient norm comes as null: such an event is skipped). */
function drawProgress(progress: ProgressLine, p: Progress): void {
  const { iteration, loss, gradNorm } = p;
  if (loss !== null && gradNorm !== null) progress.update({ iteration, loss, gradNorm, step: 0, shift: 0 });
}

/** The JSON problem as it was read; the service validates it and says what is wrong. */
type AnyProblem = Parameters<LevinvClient['solve']>[0];

/**
 * POSTs the problem: a JSON document, or a multipart form of .npy parts (cli-io.ts npyForm); with `wait`,
 * follows the job. Returns the exit code.
 */
export async function submitProblem(
  doc: unknown,
  options: SubmitOptions,
  io: SubmitIo,
  form?: FormData,
): Promise<number> {
  const base = apiBase(options.url);
  const client = new LevinvClient({
    baseUrl: base,
    retries: MAX_TRIES - 1,
    maxRetryAfterSeconds: MAX_RETRY_AFTER_S,
    ...(options.apiKey ? { apiKey: options.apiKey } : {}),
  });
  const progress = options.wait && io.stderrIsTTY ? createProgress(io.stderr) : undefined;
  let job: Job;
  try {
    job = await client.solve(form ?? (doc as AnyProblem));
    if (options.wait && !job.done) {
      job = await client.waitUntilDone(job.id, {
        ...(progress ? { onProgress: (p: Progress) => drawProgress(progress, p) } : {}),
      });
    }
  } catch (error) {
    throw cliError(error);
  } finally {
    progress?.end();
  }
  if (progress && job.result) io.stderr.write(formatStart(job.result, job.n));
  io.stdout.write(`${JSON.stringify(job, null, 2)}\n`);
  if (!options.wait) return EXIT_OK;
  if (job.state === 'failed') {
    const error = job.error ?? { code: 'INTERNAL', message: 'no error recorded' };
    if (error.code === 'INTERNAL') {
      throw new CliError(EXIT_SOFTWARE, `job ${job.id} failed: internal error: ${error.message}`);
    }
    // The exit code and message `levinv solve` gives for the same problem.
    const { exitCode, message } = classifyError(
      new SolverError(error.code as SolverErrorCode, error.message, error.field),
    );
    throw new CliError(exitCode, `job ${job.id} failed: ${message}`);
  }
  if (job.state === 'cancelled') throw new CliError(EXIT_TEMP_FAIL, `job ${job.id} was cancelled`);
  return EXIT_OK;
}
