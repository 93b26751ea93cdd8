/**
 * Which Redis `npm start` uses: REDIS_URL when set; else the default address when a Redis answers there;
 * else a private redis-server for the life of the process.
 */
import { createConnection } from 'node:net';
import { type LocalRedis, startLocalRedis } from './local-redis.js';

const PING_TIMEOUT_MS = 1000;

/** True when a Redis at `url` answers PING with PONG within `timeoutMs` (a bare socket: no client needed). */
export function answersPing(url: string, timeoutMs = PING_TIMEOUT_MS): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port || 6379) });
    let reply = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      // Anything else (e.g. -NOAUTH) is a Redis we could not use without the URL's credentials.
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.on('error', () => done(false));
  });
}

export interface ResolvedRedis {
  url: string;
  /** set when a private redis-server was started: stop it on exit */
  local?: LocalRedis;
}

/** Throws RedisServerMissingError when a private server is needed but redis-server is not on the PATH. */
export async function resolveRedis(
  configured: string | undefined,
  defaultUrl: string,
): Promise<ResolvedRedis> {
  if (configured !== undefined) return { url: configured };
  if (await answersPing(defaultUrl)) return { url: defaultUrl };
  const local = await startLocalRedis();
  return { url: local.url, local };
}
