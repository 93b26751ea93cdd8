import { describe, expect, it } from 'vitest';
import { redactRedisUrl, urlSecrets } from '../../src/jobs/log-safety.js';
import { isClusterUrl, parseRedisTarget } from '../../src/jobs/redis.js';
import { authFromConfig } from '../../src/main/api-keys.js';
import { ConfigError, loadConfig } from '../../src/main/config.js';
import { redactUrl } from '../../src/main/runtime.js';
import {
  httpOptionsFromConfig,
  limitsFromConfig,
  workerOptionsFromConfig,
} from '../../src/main/service-options.js';

const DEFAULT_MAX_SOLVE_MEMORY_MB = 1024;

describe('loadConfig', () => {
  it('has defaults for everything', () => {
    expect(loadConfig({})).toEqual({
      PORT: 3000,
      HOST: '127.0.0.1',
      WORKER_CONCURRENCY: 1,
      JOB_TTL_SECONDS: 86400,
      MAX_BODY_BYTES: 64 * 1024 * 1024,
      LOG_LEVEL: 'info',
      KEY_PREFIX: 'levinv',
      RATE_LIMIT_PER_SECOND: 50,
      MAX_ACTIVE_JOBS_PER_KEY: 100,
      MAX_HELD_REQUESTS_PER_KEY: 32,
      AUTH_FAILURE_LIMIT: 30,
      AUTH_FAILURE_WINDOW_SECONDS: 60,
      MAX_PROBLEM_CELLS: 4_000_000,
      MAX_SOLVE_SECONDS: 3600,
      MAX_ITERATIONS: 100_000,
      MAX_SOLVE_MEMORY_MB: DEFAULT_MAX_SOLVE_MEMORY_MB,
      MAX_RECORDED_ITERATES: 10_000,
      REQUEST_TIMEOUT_MS: 120_000,
      MAX_EVENT_LOOP_DELAY_MS: 1000,
      PARSE_DEADLINE_MS: 30_000,
      MAX_LARGE_UPLOADS: 4,
      MAX_LARGE_UPLOADS_PER_KEY: 2,
      MIN_UPLOAD_BYTES_PER_SECOND: 16 * 1024,
      UPLOAD_GRACE_MS: 5000,
      LOCK_DURATION_MS: 15_000,
      STALLED_INTERVAL_MS: 10_000,
      MAX_RESUMES: 5,
      LEVINV_KERNELS: 'auto',
    });
  });

  it('LEVINV_KERNELS: auto, wasm or js', () => {
    expect(loadConfig({ LEVINV_KERNELS: 'js' }).LEVINV_KERNELS).toBe('js');
    expect(loadConfig({ LEVINV_KERNELS: 'wasm' }).LEVINV_KERNELS).toBe('wasm');
  });

  it('reads and converts the variables, treating empty ones as unset', () => {
    const config = loadConfig({
      PORT: '8080',
      REDIS_URL: 'redis://cache:6380/2',
      WORKER_CONCURRENCY: '4',
      LOG_LEVEL: 'debug',
      KEY_PREFIX: '',
      UNRELATED: 'x',
    });
    expect(config).toMatchObject({ PORT: 8080, REDIS_URL: 'redis://cache:6380/2', WORKER_CONCURRENCY: 4 });
    expect(config.KEY_PREFIX).toBe('levinv');
    expect(config).not.toHaveProperty('UNRELATED');
  });

  it.each([
    ['PORT', '70000', 'expected a port number (0 to 65535)'],
    ['WORKER_CONCURRENCY', '0', 'expected a whole number > 0'],
    ['JOB_TTL_SECONDS', '1.5', 'expected a whole number > 0'],
    ['MAX_BODY_BYTES', 'lots', 'expected a whole number > 0'],
    ['REDIS_URL', 'http://127.0.0.1:6379', ''],
    ['LOG_LEVEL', 'loud', ''],
    ['KEY_PREFIX', 'a b', 'letters, digits, ":", "_" and "-" only'],
    ['RATE_LIMIT_PER_SECOND', '-1', 'expected a whole number >= 0'],
    ['MAX_HELD_REQUESTS_PER_KEY', '1.5', 'expected a whole number >= 0'],
    ['AUTH_FAILURE_LIMIT', 'many', 'expected a whole number >= 0'],
    ['AUTH_FAILURE_WINDOW_SECONDS', '0', 'expected a whole number > 0'],
    ['MAX_PROBLEM_CELLS', '0', 'expected a whole number > 0'],
    ['MAX_SOLVE_SECONDS', 'forever', 'expected a whole number > 0'],
    ['LOCK_DURATION_MS', '2.5', 'expected a whole number > 0'],
    ['LEVINV_KERNELS', 'gpu', ''],
  ])('a bad %s stops start-up with a message naming it', (name, value, detail) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(
      `invalid environment variable ${name}=${JSON.stringify(value)}: ${detail}`,
    );
  });
});

describe('secret variables', () => {
  it('a bad METRICS_TOKEN is named without its value', () => {
    expect(() => loadConfig({ METRICS_TOKEN: 'short-secret' })).toThrow(
      'invalid environment variable METRICS_TOKEN: expected at least 16 characters',
    );
    expect(() => loadConfig({ METRICS_TOKEN: 'a token with spaces' })).toThrow(
      'invalid environment variable METRICS_TOKEN: expected visible ASCII characters only (no spaces)',
    );
  });
});

describe('API keys (API_KEYS, API_KEYS_FILE)', () => {
  const SECRET_A = 'a-secret-of-20-chars';
  const SECRET_B = 'another-secret-0123456';
  const noFile = (): string => {
    throw new Error('no file expected');
  };

  it('none set: open (undefined)', () => {
    expect(authFromConfig({}, noFile)).toBeUndefined();
  });

  it('reads name:secret pairs, trimming spaces and ignoring an empty entry', () => {
    const auth = authFromConfig({ API_KEYS: ` alice:${SECRET_A} , bob:${SECRET_B}:x,` }, noFile);
    expect(auth).toEqual({
      keys: new Map([
        ['alice', SECRET_A],
        ['bob', `${SECRET_B}:x`],
      ]),
    });
  });

  it('reads a file: one pair a line, blank lines and # comments ignored; merges with API_KEYS', () => {
    const file = `# team keys\n\nbob:${SECRET_B}\r\n  # rotated 2024\ncarol:${SECRET_A}-c\n`;
    const auth = authFromConfig(
      { API_KEYS: `alice:${SECRET_A}`, API_KEYS_FILE: '/keys', METRICS_TOKEN: 'm'.repeat(16) },
      (path) => {
        expect(path).toBe('/keys');
        return file;
      },
    );
    expect(auth?.keys).toEqual(
      new Map([
        ['alice', SECRET_A],
        ['bob', SECRET_B],
        ['carol', `${SECRET_A}-c`],
      ]),
    );
    expect(auth?.metricsToken).toBe('m'.repeat(16));
  });

  it('METRICS_TOKEN alone: no keys, the token for /metrics', () => {
    expect(authFromConfig({ METRICS_TOKEN: 'm'.repeat(16) }, noFile)).toEqual({
      keys: new Map(),
      metricsToken: 'm'.repeat(16),
    });
  });

  it.each([
    [`alice:${SECRET_A},:${SECRET_B}`, 'entry 2: empty key name'],
    [`alice:`, 'entry 1: key "alice" has an empty secret'],
    [`alice${SECRET_A}`, 'entry 1: expected name:secret'],
    [`alice:${SECRET_A},alice:${SECRET_B}`, 'entry 2: duplicate key name "alice"'],
    [`alice:${SECRET_A},bob:${SECRET_A}`, 'entry 2: key "bob" reuses the secret of another key'],
    [`alice:short-secret`, 'entry 1: the secret of key "alice" is shorter than 16 characters'],
    [`al ice:${SECRET_A}`, 'entry 1: key name "al ice": expected 1 to 64 letters, digits, ".", "_" or "-"'],
    [`alice:${SECRET_A} tail`, 'entry 1: the secret of key "alice" has characters other than visible ASCII'],
    [',,', 'the list: no name:secret pair'],
  ])('API_KEYS=%j is refused: %s (the secret never in the message)', (list, detail) => {
    const run = () => authFromConfig({ API_KEYS: list }, noFile);
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(`invalid environment variable API_KEYS: ${detail}`);
    try {
      run();
    } catch (error) {
      expect((error as Error).message).not.toContain(SECRET_A);
      expect((error as Error).message).not.toContain(SECRET_B);
    }
  });

  it('names the file line of a bad entry, a duplicate across both variables, and an unreadable file', () => {
    expect(() =>
      authFromConfig({ API_KEYS_FILE: '/keys' }, () => `# c\nalice:${SECRET_A}\nbob:tiny\n`),
    ).toThrow(
      'invalid environment variable API_KEYS_FILE: line 3: the secret of key "bob" is shorter than 16 characters',
    );
    expect(() =>
      authFromConfig({ API_KEYS: `alice:${SECRET_A}`, API_KEYS_FILE: '/keys' }, () => `alice:${SECRET_B}\n`),
    ).toThrow('invalid environment variable API_KEYS_FILE: line 1: duplicate key name "alice"');
    expect(() => authFromConfig({ API_KEYS_FILE: '/keys' }, () => '# nothing\n\n')).toThrow(
      'invalid environment variable API_KEYS_FILE: /keys: no name:secret line',
    );
    expect(() => authFromConfig({ API_KEYS_FILE: '/no/such/file' })).toThrow(
      'invalid environment variable API_KEYS_FILE="/no/such/file": cannot read it (ENOENT)',
    );
  });
});

describe('what the config means for the app and the workers', () => {
  it('maps the limits and the worker settings', () => {
    const config = loadConfig({
      RATE_LIMIT_PER_SECOND: '7',
      MAX_ACTIVE_JOBS_PER_KEY: '0',
      MAX_SOLVE_SECONDS: '90',
      MAX_RESUMES: '3',
      LOCK_DURATION_MS: '4000',
      MAX_HELD_REQUESTS_PER_KEY: '3',
      AUTH_FAILURE_LIMIT: '0',
    });
    expect(limitsFromConfig(config)).toEqual({
      ratePerSecond: 7,
      maxActiveJobsPerKey: 0,
      maxHeldRequestsPerKey: 3,
      authFailures: { limit: 0, windowSeconds: 60 },
      maxProblemCells: 4_000_000,
      maxSolveSeconds: 90,
      maxIterations: 100_000,
      maxSolveMemoryMb: DEFAULT_MAX_SOLVE_MEMORY_MB,
    });
    expect(workerOptionsFromConfig(config)).toMatchObject({
      lockDurationMs: 4000,
      stalledIntervalMs: 10_000,
      maxResumes: 3,
      maxSolveSeconds: 90,
      maxRecordedIterates: 10_000,
    });
  });

  it('maps the upload limits and the parse deadline; a minimum rate of 0 is off, no upload slots at all is refused', () => {
    const config = loadConfig({
      MAX_LARGE_UPLOADS: '6',
      MAX_LARGE_UPLOADS_PER_KEY: '1',
      MIN_UPLOAD_BYTES_PER_SECOND: '0',
      UPLOAD_GRACE_MS: '2000',
    });
    expect(httpOptionsFromConfig(config).uploads).toEqual({
      max: 6,
      maxPerKey: 1,
      minBytesPerSecond: 0,
      graceMs: 2000,
    });
    expect(httpOptionsFromConfig(loadConfig({ PARSE_DEADLINE_MS: '1500' })).parseDeadlineMs).toBe(1500);
    expect(() => loadConfig({ PARSE_DEADLINE_MS: '-1' })).toThrow(
      'invalid environment variable PARSE_DEADLINE_MS="-1": expected a whole number > 0',
    );
    expect(() => loadConfig({ MAX_LARGE_UPLOADS: '0' })).toThrow(
      'invalid environment variable MAX_LARGE_UPLOADS="0": expected a whole number > 0',
    );
  });
});

describe('Redis Cluster addresses (REDIS_URL=redis+cluster://..., REDIS_CLUSTER_NODES)', () => {
  it('takes a cluster URL as it is, and parses it into seed nodes and credentials', () => {
    const url = 'redis+cluster://app:p%40ss@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002';
    expect(loadConfig({ REDIS_URL: url }).REDIS_URL).toBe(url);
    expect(parseRedisTarget(url)).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      username: 'app',
      password: 'p@ss',
      tls: false,
    });
    expect(parseRedisTarget('rediss+cluster://h:1')).toMatchObject({ kind: 'cluster', tls: true });
    expect(parseRedisTarget('redis://cache:6380/2')).toEqual({
      kind: 'standalone',
      url: 'redis://cache:6380/2',
    });
  });

  it('REDIS_CLUSTER_NODES becomes a cluster REDIS_URL', () => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: 'a.example:7000, b.example:7001' });
    expect(config.REDIS_URL).toBe('redis+cluster://a.example:7000,b.example:7001');
    expect(isClusterUrl(config.REDIS_URL!)).toBe(true);
  });

  it.each([
    ['REDIS_URL', 'redis+cluster://a:7000,b', 'expected host:port, got "b"'],
    ['REDIS_URL', 'redis+cluster://a:99999', 'expected host:port, got "a:99999"'],
    ['REDIS_URL', 'redis+sentinel://a:1', 'expected a redis://, rediss:// or redis+cluster:// URL'],
    ['REDIS_CLUSTER_NODES', 'a:7000,,b:7001', 'expected host:port, got ""'],
  ])('a bad %s=%s stops start-up with a message naming it', (name, value, detail) => {
    expect(() => loadConfig({ [name]: value })).toThrow(
      `invalid environment variable ${name}=${JSON.stringify(value)}: ${detail}`,
    );
  });

  it('refuses REDIS_URL and REDIS_CLUSTER_NODES together', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis://a:1', REDIS_CLUSTER_NODES: 'b:2' })).toThrow(
      'invalid environment variable REDIS_CLUSTER_NODES: set it or REDIS_URL, not both',
    );
  });

  it('keeps a cluster URL password out of logs', () => {
    const url = 'redis+cluster://app:cluster-secret@h1:7000,h2:7001';
    expect(redactUrl(url)).toBe('redis+cluster://***@h1:7000,h2:7001');
    expect(redactRedisUrl(url)).toBe('redis+cluster://***@h1:7000,h2:7001');
    expect(urlSecrets(url)).toContain('cluster-secret');
  });
});
