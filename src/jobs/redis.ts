/**
 * Redis connections for the two sides, and what counts as "Redis is unavailable".
 *
 * The producer (API) side fails fast: no offline queue, one retry per command, a command timeout. A request
 * made while Redis is down then fails at once with StoreUnavailableError (503) instead of hanging, while
 * the client keeps reconnecting in the background. The worker side waits instead (BullMQ requires
 * `maxRetriesPerRequest: null` on its connections): a worker has nobody to answer and should simply
 * resume when Redis is back.
 */
import { type ChainableCommander, Redis, type RedisOptions } from 'ioredis';
import { defineScripts } from './scripts.js';
import { IdempotencyConflictError, StoreUnavailableError } from './types.js';

/** Reconnect forever, backing off to 2 s between tries. */
export const reconnect = (times: number): number => Math.min(50 * 2 ** Math.min(times, 6), 2000);

export const PRODUCER_OPTIONS: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 2000,
  // generous: one command may carry a problem blob of tens of MB
  commandTimeout: 10_000,
  retryStrategy: reconnect,
};

export const WORKER_OPTIONS: RedisOptions = {
  maxRetriesPerRequest: null,
  retryStrategy: reconnect,
};

/** A connection with the job scripts defined; errors are logged, never thrown from the emitter. */
export function connect(
  url: string,
  options: RedisOptions,
  onError: (error: Error) => void,
  name: string,
): Redis {
  const redis = new Redis(url, { ...options, connectionName: name });
  // ioredis emits 'error' on every failed reconnect; without a listener that would crash the process.
  redis.on('error', onError);
  defineScripts(redis);
  return redis;
}

/**
 * Runs a pipeline or MULTI and returns its replies. ioredis reports a failed command (a dropped connection
 * included) inside the reply list rather than by rejecting; here the first one is thrown.
 */
export async function execAll<T extends unknown[]>(chain: ChainableCommander): Promise<T> {
  const replies = await chain.exec();
  if (!replies) throw new Error('Connection is closed (the transaction was discarded)');
  for (const [error] of replies) if (error) throw error;
  return replies.map(([, value]) => value) as T;
}

/** Resolves when `redis` is ready, or false after `timeoutMs` (it keeps trying in the background). */
export function waitReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ok);
    };
    const onReady = (): void => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    redis.once('ready', onReady);
  });
}

/** Closes politely when connected (pending replies arrive), at once otherwise (QUIT would wait forever). */
export async function closeConnection(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status === 'ready') {
    try {
      await redis.quit();
      return;
    } catch {
      // fall through to a hard disconnect
    }
  }
  redis.disconnect();
}

const CONNECTION_MESSAGES =
  /Connection is closed|Stream isn't writeable|enableOfflineQueue|Command timed out|Command aborted|max retries per request|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|EAI_AGAIN|Socket (closed|timeout)/i;
/** Redis answered, but cannot serve now (out of memory, loading, failing over). */
const TRANSIENT_REPLIES = /^(OOM|LOADING|BUSY|MASTERDOWN|READONLY|CLUSTERDOWN|TRYAGAIN|NOREPLICAS)\b/;

export function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'MaxRetriesPerRequestError') return true;
  if (error.name === 'ReplyError') return TRANSIENT_REPLIES.test(error.message);
  return CONNECTION_MESSAGES.test(error.message);
}

/**
 * Runs a store operation, turning "Redis is unavailable" into StoreUnavailableError. Any other error (a
 * reply error from a bug, a domain error) passes through unchanged.
 */
export async function guarded<T>(what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (error) {
    if (error instanceof StoreUnavailableError || error instanceof IdempotencyConflictError) throw error;
    if (isUnavailable(error)) {
      throw new StoreUnavailableError(`the job store is unavailable (${what}): ${(error as Error).message}`);
    }
    throw error;
  }
}
