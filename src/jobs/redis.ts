/**
 * Redis connections for the two sides, and what counts as "Redis is unavailable".
 *
 * The producer (API) side fails fast: no offline queue, one retry per command, a command timeout. A request
 * made while Redis is down then fails at once with StoreUnavailableError (503) instead of hanging, while
 * the client keeps reconnecting in the background. The worker side waits instead (BullMQ requires
 * `maxRetriesPerRequest: null` on its connections): a worker has nobody to answer and should simply
 * resume when Redis is back.
 */
import { type ChainableCommander, Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
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

/** A standalone server or a Redis Cluster: every command this service sends works on either. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: one server (a `redis://` or `rediss://` URL) or a cluster's seed nodes. */
export type RedisTarget =
  | { kind: 'standalone'; url: string }
  | {
      kind: 'cluster';
      nodes: { host: string; port: number }[];
      username?: string;
      password?: string;
      tls: boolean;
    };

const CLUSTER_URL = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#@]+)\/?$/i;
const NODE = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** `host:port,host:port,...` (REDIS_CLUSTER_NODES, and the node list of a cluster URL). */
export function parseClusterNodes(list: string): { host: string; port: number }[] {
  const nodes = list.split(',').map((item) => {
    const match = NODE.exec(item.trim());
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65535) {
      throw new Error(`expected host:port, got ${JSON.stringify(item.trim())}`);
    }
    return { host: match[1].replace(/^\[|\]$/g, ''), port };
  });
  if (nodes.length === 0) throw new Error('expected at least one host:port');
  return nodes;
}

/**
 * A Redis URL: `redis://` / `rediss://` for one server, `redis+cluster://[user:password@]host:port,...`
 * (or `rediss+cluster://`, TLS) for a Redis Cluster given by some of its nodes. Throws on anything else.
 */
export function parseRedisTarget(url: string): RedisTarget {
  const cluster = CLUSTER_URL.exec(url);
  if (cluster) {
    const target: RedisTarget = {
      kind: 'cluster',
      nodes: parseClusterNodes(cluster[3]),
      tls: cluster[1].toLowerCase() === 'rediss',
    };
    if (cluster[2]) {
      const at = cluster[2].indexOf(':');
      const user = decodeURIComponent(at < 0 ? cluster[2] : cluster[2].slice(0, at));
      if (user) target.username = user;
      if (at >= 0) target.password = decodeURIComponent(cluster[2].slice(at + 1));
    }
    return target;
  }
  if (/^[a-z+]+\+cluster:/i.test(url)) {
    throw new Error('expected redis+cluster://host:port,host:port,... (or rediss+cluster://)');
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('expected a redis:// or rediss:// URL');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error('expected a redis://, rediss:// or redis+cluster:// URL');
  }
  return { kind: 'standalone', url };
}

export const isClusterUrl = (url: string): boolean => parseRedisTarget(url).kind === 'cluster';

/**
 * A client for `url` with `options` (PRODUCER_OPTIONS, WORKER_OPTIONS or a caller's own): a Redis, or for a
 * cluster URL a Cluster whose node connections carry the same options (the offline queue and the retry
 * strategy apply to the cluster as a whole). `shardedSubscribers` is for a push subscriber (SSUBSCRIBE on
 * each shard).
 */
export function createClient(
  url: string,
  options: RedisOptions,
  name: string,
  extra: { shardedSubscribers?: boolean } = {},
): RedisClient {
  const target = parseRedisTarget(url);
  if (target.kind === 'standalone') return new Redis(url, { ...options, connectionName: name });
  const { retryStrategy, enableOfflineQueue, ...nodeOptions } = options;
  const redisOptions: NonNullable<ClusterOptions['redisOptions']> = { ...nodeOptions, connectionName: name };
  if (target.username) redisOptions.username = target.username;
  if (target.password) redisOptions.password = target.password;
  if (target.tls) redisOptions.tls = {};
  const clusterOptions: ClusterOptions = {
    redisOptions,
    clusterRetryStrategy: retryStrategy ? (times: number) => retryStrategy(times) ?? null : () => null,
    shardedSubscribers: extra.shardedSubscribers ?? false,
  };
  if (enableOfflineQueue !== undefined) clusterOptions.enableOfflineQueue = enableOfflineQueue;
  return new Cluster(target.nodes, clusterOptions);
}

/** A connection whose errors are logged, never thrown from the emitter (scripts.ts defines the job scripts
 * on it when it first runs one). */
export function connect(
  url: string,
  options: RedisOptions,
  onError: (error: Error) => void,
  name: string,
): RedisClient {
  const redis = createClient(url, options, name);
  // ioredis emits 'error' on every failed reconnect; without a listener that would crash the process.
  redis.on('error', onError);
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
export function waitReady(redis: RedisClient, timeoutMs: number): Promise<boolean> {
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
export async function closeConnection(redis: RedisClient): Promise<void> {
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
  /Connection is closed|Stream isn't writeable|enableOfflineQueue|Command timed out|Command aborted|max retries per request|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|EAI_AGAIN|Socket (closed|timeout)|Cluster isn't ready|Cluster is ended|Failed to refresh slots cache|None of startup nodes is available|Too many Cluster redirections/i;
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
