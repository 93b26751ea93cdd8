/**
 * Per-key quotas and per-job limits. `applyLimits` checks one parsed problem against the per-job limits
 * before anything is stored: a problem too large (cells, estimated working memory) is a 413, options past
 * a cap are a 422, each naming the limit. The per-key limits are applied elsewhere: the request rate by the
 * identity plugin, the held requests by their routes (held-requests.ts), the active jobs by the job store at
 * submit.
 */
import { type JobLimits, solveSeconds } from '../limits/job-limits.js';
import type { ParsedProblem } from '../problem/parse.js';
import { estimateSolveBytes, resolveOptions } from '../solver/index.js';
import { HttpProblem } from './problems.js';

/** The per-key quotas, and the per-job limits (src/limits/job-limits.ts) this process checks. */
export interface Limits
  extends Pick<JobLimits, 'maxProblemCells' | 'maxSolveSeconds' | 'maxIterations' | 'maxSolveMemoryMb'> {
  /** requests per second per key (per client address when open); 0: off */
  ratePerSecond: number;
  /** jobs queued or running at once per key; 0: off */
  maxActiveJobsPerKey: number;
  /**
   * event streams and `Prefer: wait` requests held open at once per key (per client address when open), in
   * this process; absent or 0: off
   */
  maxHeldRequestsPerKey?: number;
  /** wrong credentials one client address may send per window before it gets 429; absent or limit 0: off */
  authFailures?: { limit: number; windowSeconds: number };
  /** WEBHOOK_SECRET is set: a submission may carry a webhook (otherwise 422) */
  webhooksEnabled?: boolean;
}

/** One problem type per limit, so that a client can tell which one it hit without reading the detail. */
export const LIMIT_PROBLEM_TYPES = {
  maxProblemCells: 'urn:levinv:problem:max-problem-cells',
  maxSolveMemoryMb: 'urn:levinv:problem:max-solve-memory',
  maxSolveSeconds: 'urn:levinv:problem:max-solve-seconds',
  maxIterations: 'urn:levinv:problem:max-iterations',
  webhooksDisabled: 'urn:levinv:problem:webhooks-disabled',
} as const;

const MIB = 1024 * 1024;

const tooLarge = (type: string, detail: string): HttpProblem =>
  new HttpProblem(413, detail, { type, title: 'Problem too large' });

const overCap = (type: string, detail: string): HttpProblem =>
  new HttpProblem(422, detail, { type, title: 'Option over the server limit' });

/**
 * Checks a parsed problem against the per-job limits: throws HttpProblem (413 or 422) naming the limit.
 * Returns it with options.maxSeconds filled in (or capped) so that the worker never runs unbounded.
 */
export function applyLimits(parsed: ParsedProblem, limits: Limits): ParsedProblem {
  const { n, d } = parsed.problem;
  const method = parsed.options.method ?? 'newton';

  const cells = n * d;
  if (cells > limits.maxProblemCells) {
    throw tooLarge(
      LIMIT_PROBLEM_TYPES.maxProblemCells,
      `the problem has n x d = ${n} x ${d} = ${cells} cells; the limit is MAX_PROBLEM_CELLS = ${limits.maxProblemCells}`,
    );
  }

  const bytes = estimateSolveBytes(n, d, method);
  if (bytes > limits.maxSolveMemoryMb * MIB) {
    throw tooLarge(
      LIMIT_PROBLEM_TYPES.maxSolveMemoryMb,
      `solving this problem (n = ${n}, d = ${d}, method ${method}) needs an estimated ` +
        `${Math.ceil(bytes / MIB)} MB of working memory; the limit is MAX_SOLVE_MEMORY_MB = ${limits.maxSolveMemoryMb}`,
    );
  }

  const { maxSeconds, maxIterations } = parsed.options;
  if (maxSeconds !== undefined && maxSeconds > limits.maxSolveSeconds) {
    throw overCap(
      LIMIT_PROBLEM_TYPES.maxSolveSeconds,
      `options.maxSeconds is ${maxSeconds}; the limit is MAX_SOLVE_SECONDS = ${limits.maxSolveSeconds}`,
    );
  }
  if (maxIterations !== undefined && maxIterations > limits.maxIterations) {
    throw overCap(
      LIMIT_PROBLEM_TYPES.maxIterations,
      `options.maxIterations is ${maxIterations}; the limit is MAX_ITERATIONS = ${limits.maxIterations}`,
    );
  }

  // Absent options get their default, lowered to the cap when the method's default is above it.
  const defaultIterations = resolveOptions({ method }).maxIterations;
  return {
    ...parsed,
    options: {
      ...parsed.options,
      maxSeconds: solveSeconds(maxSeconds, limits),
      ...(maxIterations === undefined && defaultIterations > limits.maxIterations
        ? { maxIterations: limits.maxIterations }
        : {}),
    },
  };
}

/**
 * A webhook on a server without WEBHOOK_SECRET is refused (422) rather than dropped: the client relies on
 * it, and would otherwise wait for a call that never comes.
 */
export function checkWebhookAllowed(webhook: unknown, limits: Limits): void {
  if (webhook === undefined || limits.webhooksEnabled) return;
  throw new HttpProblem(
    422,
    'this server sends no webhooks (WEBHOOK_SECRET is not set): submit without `webhook`, or ask its operator',
    { type: LIMIT_PROBLEM_TYPES.webhooksDisabled, title: 'Webhooks are not enabled' },
  );
}
