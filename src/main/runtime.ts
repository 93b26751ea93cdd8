/**
 * What every long-running entry point (api.ts, start.ts, worker.ts) does the same way: read the config or
 * exit 78, create the pino logger, keep secrets out of logs, and shut down once on SIGTERM/SIGINT.
 */
import type { Server } from 'node:http';
import { type DestinationStream, type Logger, pino } from 'pino';
import type { AuthOptions } from '../api/auth.js';
import { redactRedisUrl } from '../jobs/log-safety.js';
import { type KernelChoice, type KernelName, useKernels } from '../solver/index.js';
import { authFromConfig } from './api-keys.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { chooseLogFormat, logDestination } from './log-format.js';

/** EX_CONFIG from sysexits: the environment is wrong, restarting will not help. */
export const EXIT_CONFIG = 78;
/** A shutdown that takes longer than this (Redis gone, a stuck close) exits anyway. */
export const SHUTDOWN_LIMIT_MS = 30_000;

const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ').trim();

/** `read()`, or one line on stderr and exit 78 when it throws a ConfigError. */
function orExit<T>(program: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${program}: ${oneLine(error.message)}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw error;
  }
}

/** The config, or one line on stderr and exit 78. */
export function loadConfigOrExit(program: string): Config {
  return orExit(program, () => loadConfig());
}

/**
 * Puts LEVINV_KERNELS in force in this thread and returns the kernels it resolved to; LEVINV_KERNELS=wasm
 * when the WebAssembly kernels cannot be loaded: one line on stderr and exit 78. (Solve threads make the
 * same choice from the environment they inherit.)
 */
export function useKernelsOrExit(program: string, choice: KernelChoice): KernelName {
  try {
    return useKernels(choice);
  } catch (error) {
    process.stderr.write(`${program}: LEVINV_KERNELS=${choice}: ${oneLine((error as Error).message)}\n`);
    process.exit(EXIT_CONFIG);
  }
}

/** The API keys of API_KEYS / API_KEYS_FILE and METRICS_TOKEN (undefined: open), or exit 78 on a bad list. */
export function loadAuthOrExit(program: string, config: Config): AuthOptions | undefined {
  return orExit(program, () => authFromConfig(config));
}

/** The one line an open service logs at start. */
export const OPEN_SERVICE_WARNING =
  'no API keys (API_KEYS, API_KEYS_FILE): the API is open to anyone who can reach it, and every client ' +
  'sees every job';

/** Logs OPEN_SERVICE_WARNING when no API key is configured. */
export function warnIfOpen(logger: Logger, auth: AuthOptions | undefined): void {
  if (auth === undefined || auth.keys.size === 0) logger.warn(OPEN_SERVICE_WARNING);
}

/**
 * Log paths never written: credentials in request headers (wherever a header object is logged) and
 * passwords in connection options.
 */
export const REDACTED_PATHS = [
  'authorization',
  '*.authorization',
  '*.*.authorization',
  'cookie',
  '*.cookie',
  '*.*.cookie',
  'password',
  '*.password',
  '*.*.password',
];

/**
 * The entry points' logger, secrets redacted: JSON lines on stdout (or `destination`), or readable lines
 * when stdout is a terminal or LOG_FORMAT=pretty (log-format.ts).
 */
export function createLogger(config: Config, name: string, destination?: DestinationStream): Logger {
  const options = { level: config.LOG_LEVEL, name, redact: { paths: REDACTED_PATHS } };
  const format = chooseLogFormat(config.LOG_FORMAT, process.stdout.isTTY);
  const out = logDestination(format, destination);
  return out ? pino(options, out) : pino(options);
}

/** The URL without its password, for logs. */
export function redactUrl(url: string): string {
  // one mechanism for every Redis URL, standalone or cluster (a cluster URL is no WHATWG URL)
  return redactRedisUrl(url);
}

/** One line on stderr and exit 1: for start-up failures, before or instead of the logger. */
export function exitWithError(program: string, error: unknown): never {
  process.stderr.write(`${program}: ${oneLine(error instanceof Error ? error.message : String(error))}\n`);
  process.exit(1);
}

/**
 * On the first SIGTERM or SIGINT runs `close` (which stops taking work, then releases resources in order)
 * and exits 0, or 1 if it fails or outlasts `limitMs`. A second signal exits at once.
 */
export function onShutdown(logger: Logger, close: () => Promise<void>, limitMs = SHUTDOWN_LIMIT_MS): void {
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error('shutdown took too long: exiting');
      process.exit(1);
    }, limitMs).unref();
    close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

/** A URL to print for a listening server (0.0.0.0 is not an address a browser can open). */
export function listenUrl(server: Server): string {
  const address = server.address();
  if (address === null || typeof address === 'string') return String(address);
  const { address: host, port } = address;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${port}`;
}

/** Loopback: 127.0.0.0/8, ::1, and 127.x written as IPv4-mapped IPv6. */
function isLoopback(host: string): boolean {
  const v4 = host.startsWith('::ffff:') ? host.slice(7) : host;
  return v4.startsWith('127.') || host === '::1' || host === 'localhost';
}

/**
 * Who can reach a listening server, for the start-up line: loopback only (HOST's default, and how an open
 * service is safe), every interface, or the one address HOST names.
 */
export function listenReach(server: Server): string {
  const address = server.address();
  if (address === null || typeof address === 'string') return 'a local socket';
  const host = address.address;
  if (isLoopback(host))
    return 'loopback only: set HOST (e.g. HOST=0.0.0.0) to take requests from other machines';
  if (host === '0.0.0.0' || host === '::') return 'on every interface';
  return `on ${host} only`;
}

/** The address a listening server is bound to, as is (0.0.0.0 stays 0.0.0.0): for the start-up line's fields. */
export function boundAddress(server: Server): string | undefined {
  const address = server.address();
  return address === null || typeof address === 'string' ? undefined : address.address;
}
