/**
 * The one place the environment is read: a zod schema over process.env. A bad value stops start-up with a
 * message naming the variable.
 */

import { z } from 'zod';
import { parseClusterNodes, parseRedisTarget } from '../jobs/redis.js';
import { DEFAULT_JOB_LIMITS } from '../limits/job-limits.js';
import { KERNEL_CHOICES, MAX_SOLVER_THREADS } from '../solver/index.js';

const port = z.coerce
  .number({ error: 'expected a port number (0 to 65535)' })
  .int({ error: 'expected a port number (0 to 65535)' })
  .min(0, { error: 'expected a port number (0 to 65535)' })
  .max(65535, { error: 'expected a port number (0 to 65535)' });
const positiveInt = z.coerce
  .number({ error: 'expected a whole number > 0' })
  .int({ error: 'expected a whole number > 0' })
  .positive({ error: 'expected a whole number > 0' });
const nonNegativeInt = z.coerce
  .number({ error: 'expected a whole number >= 0' })
  .int({ error: 'expected a whole number >= 0' })
  .min(0, { error: 'expected a whole number >= 0' });

/** API keys and the metrics token: long enough not to be guessed, and sendable as a Bearer token as is. */
export const MIN_SECRET_LENGTH = 16;
export const SECRET_PATTERN = /^[\x21-\x7e]+$/;

/** LOG_FORMAT: JSON lines or pino-pretty's readable ones (log-format.ts) */
export const LOG_FORMATS = ['json', 'pretty'] as const;

export const configSchema = z.object({
  PORT: port.default(3000),
  /**
   * loopback unless set: reaching the service from elsewhere is a choice made here (the image sets 0.0.0.0),
   * with API keys or without
   */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** unset: `npm start` looks at the default address and may start a private redis-server */
  // `redis://` / `rediss://` (one server) or `redis+cluster://host:port,host:port,...` (a Redis Cluster)
  REDIS_URL: z
    .string()
    .superRefine((url, ctx) => {
      try {
        parseRedisTarget(url);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    })
    .optional(),
  /** a Redis Cluster's nodes, `host:port,...` (some are enough): the same as REDIS_URL=redis+cluster://... */
  REDIS_CLUSTER_NODES: z
    .string()
    .superRefine((list, ctx) => {
      try {
        parseClusterNodes(list);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    })
    .optional(),
  WORKER_CONCURRENCY: positiveInt.default(1),
  JOB_TTL_SECONDS: positiveInt.default(24 * 60 * 60),
  /** the default takes a 100000 x 20 problem as JSON (about 45 MB) */
  MAX_BODY_BYTES: positiveInt.default(64 * 1024 * 1024),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** unset: readable lines when stdout is a terminal, JSON lines otherwise */
  LOG_FORMAT: z.enum(LOG_FORMATS).optional(),
  /** traces go to this OTLP/HTTP collector (e.g. http://127.0.0.1:4318); unset: tracing is off */
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })
    .optional(),
  /** service.name of the traces; unset: levinv-api, levinv-worker or levinv (npm start) */
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]+$/, 'letters, digits, ":", "_" and "-" only')
    .default('levinv'),

  // Identity. Unset API_KEYS (and API_KEYS_FILE): the service is open, and says so at start.
  /** comma-separated `name:secret` pairs */
  API_KEYS: z.string().optional(),
  /** a file with one `name:secret` pair a line (secrets mounted as files); '#' starts a comment */
  API_KEYS_FILE: z.string().optional(),
  /** when set, /metrics needs `Authorization: Bearer <METRICS_TOKEN>` */
  METRICS_TOKEN: z
    .string()
    .min(MIN_SECRET_LENGTH, `expected at least ${MIN_SECRET_LENGTH} characters`)
    .regex(SECRET_PATTERN, 'expected visible ASCII characters only (no spaces)')
    .optional(),

  // Quotas, per API key (per client address when the service is open); 0 turns a limit off.
  RATE_LIMIT_PER_SECOND: nonNegativeInt.default(50),
  MAX_ACTIVE_JOBS_PER_KEY: nonNegativeInt.default(100),
  /** event streams and `Prefer: wait` requests open at once per key, in each API process */
  MAX_HELD_REQUESTS_PER_KEY: nonNegativeInt.default(32),
  /** wrong API keys (or metrics tokens) one client address may send per window; then 429 until it ends */
  AUTH_FAILURE_LIMIT: nonNegativeInt.default(30),
  AUTH_FAILURE_WINDOW_SECONDS: positiveInt.default(60),

  // Per job: the defaults live in src/limits/job-limits.ts.
  /** n x d of one problem */
  MAX_PROBLEM_CELLS: positiveInt.default(DEFAULT_JOB_LIMITS.maxProblemCells),
  /** caps options.maxSeconds (and is its default) */
  MAX_SOLVE_SECONDS: positiveInt.default(DEFAULT_JOB_LIMITS.maxSolveSeconds),
  /** caps options.maxIterations */
  MAX_ITERATIONS: positiveInt.default(DEFAULT_JOB_LIMITS.maxIterations),
  /** the solver's estimated working memory of one problem; also the solve thread's heap limit */
  MAX_SOLVE_MEMORY_MB: positiveInt.default(DEFAULT_JOB_LIMITS.maxSolveMemoryMb),
  /** iterates kept per job (the first ones, then the last) */
  MAX_RECORDED_ITERATES: positiveInt.default(DEFAULT_JOB_LIMITS.maxRecordedIterates),

  // HTTP.
  /** a request (its body included) must arrive within this */
  REQUEST_TIMEOUT_MS: positiveInt.default(120_000),
  /** event-loop delay above which the API sheds load with 503 */
  MAX_EVENT_LOOP_DELAY_MS: positiveInt.default(1000),
  /** how long one large body may take on a parse thread (from when the thread starts on it); 413 past it */
  PARSE_DEADLINE_MS: positiveInt.default(30_000),
  /** large POST /solve bodies (over 256 KiB, chunked or compressed) received at once, in all (503 past it) */
  MAX_LARGE_UPLOADS: positiveInt.default(4),
  /** the same per API key, or per client address when open (429 past it) */
  MAX_LARGE_UPLOADS_PER_KEY: positiveInt.default(2),
  /** a large body arriving slower than this, over any UPLOAD_GRACE_MS, is a 408; 0: no minimum */
  MIN_UPLOAD_BYTES_PER_SECOND: nonNegativeInt.default(16 * 1024),
  /** the window of MIN_UPLOAD_BYTES_PER_SECOND, the first one starting when the headers arrive */
  UPLOAD_GRACE_MS: positiveInt.default(5000),

  // Workers: a dead worker's job is taken over after at most LOCK_DURATION_MS + STALLED_INTERVAL_MS.
  LOCK_DURATION_MS: positiveInt.default(15_000),
  STALLED_INTERVAL_MS: positiveInt.default(10_000),
  /**
   * the solver's row kernels: `auto` WebAssembly (SIMD) when it loads, else TypeScript; `wasm` or refuse to
   * start; `js` the TypeScript reference (solve threads read the same variable, inherited from the process)
   */
  LEVINV_KERNELS: z.enum(KERNEL_CHOICES).default('auto'),
  /**
   * threads one solve splits its row loops over; unset: the cores shared among the WORKER_CONCURRENCY
   * solves (the `levinv solve` CLI: all cores)
   */
  SOLVER_THREADS: positiveInt
    .max(MAX_SOLVER_THREADS, { error: `expected at most ${MAX_SOLVER_THREADS}` })
    .optional(),
  /** how many worker deaths one job survives (resuming from its checkpoint each time) */
  MAX_RESUMES: positiveInt.default(5),
  /**
   * when set, the worker rewrites this file every few seconds while its queue runs and its Redis
   * connection answers; `node dist/main/healthcheck.js worker` checks that it is fresh (containers)
   */
  WORKER_HEALTH_FILE: z.string().min(1).optional(),

  // Webhooks (src/webhooks). Unset WEBHOOK_SECRET: a submission with a webhook is refused (422).
  /** signs every delivery (Standard Webhooks): `whsec_` and the base64 of 24 to 64 random bytes */
  WEBHOOK_SECRET: z
    .string()
    .refine(isWebhookSecret, 'expected whsec_ followed by the base64 of 24 to 64 bytes')
    .optional(),
  /** comma-separated host names or addresses a webhook may reach although they are loopback or private */
  WEBHOOK_ALLOW_HOSTS: z
    .string()
    .refine(
      (list) => list.split(',').every((h) => /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._:-]+)$/.test(h.trim())),
      'expected comma-separated host names or IP addresses (no scheme, no port)',
    )
    .optional(),
  /** one delivery attempt's deadline (default 5000) */
  WEBHOOK_TIMEOUT_MS: positiveInt.optional(),
  /** the first retry's delay, doubled for each next one (default 120000: 6 tries over about an hour) */
  WEBHOOK_BACKOFF_MS: positiveInt.optional(),
  /** webhook deliveries in flight at once per worker process (default 8) */
  WEBHOOK_CONCURRENCY: positiveInt.optional(),
  /** of those, at most this many for one API key, so one key's dead receivers cannot hold them all (default 2) */
  WEBHOOK_CONCURRENCY_PER_KEY: positiveInt.optional(),
  /** when set, a worker process serves its own GET /metrics on this port (on HOST) */
  WORKER_METRICS_PORT: port.optional(),
});

function isWebhookSecret(value: string): boolean {
  const match = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(value);
  if (!match || match[1].length % 4 !== 0) return false;
  const bytes = Buffer.from(match[1], 'base64').length;
  return bytes >= 24 && bytes <= 64;
}

export type Config = z.output<typeof configSchema>;

/** Variables whose values are secrets: error messages name them without their value. */
export const SECRET_VARIABLES: ReadonlySet<string> = new Set(['API_KEYS', 'METRICS_TOKEN', 'WEBHOOK_SECRET']);
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parses the environment (only the variables above; empty strings count as unset). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = configSchema.safeParse(input);
  if (parsed.success) {
    const config = parsed.data;
    if (config.REDIS_CLUSTER_NODES !== undefined) {
      if (config.REDIS_URL !== undefined) {
        throw new ConfigError(
          'invalid environment variable REDIS_CLUSTER_NODES: set it or REDIS_URL, not both',
        );
      }
      // one address from here on: every connection is made from REDIS_URL
      const nodes = parseClusterNodes(config.REDIS_CLUSTER_NODES);
      const list = nodes.map((n) => `${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`).join(',');
      config.REDIS_URL = `redis+cluster://${list}`;
    }
    return config;
  }
  const first = parsed.error.issues[0];
  const name = String(first.path[0]);
  // A secret's value never reaches the message (it goes to stderr and from there to log collectors).
  const shown = SECRET_VARIABLES.has(name) ? '' : `=${JSON.stringify(input[name])}`;
  throw new ConfigError(`invalid environment variable ${name}${shown}: ${first.message}`);
}
