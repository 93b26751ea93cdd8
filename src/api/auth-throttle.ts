/**
 * Failed authentication, throttled per client address. After `limit` wrong credentials (a Bearer token that
 * is no API key, or no metrics token on /metrics) in one window, every request of that address to a route
 * that needs a key is a 429 with Retry-After until the window ends: a right key too, since answering it
 * would tell a guesser when it guessed right, at full speed. Requests that carry no credentials guess
 * nothing and are not counted (the dashboard asks without a key until its user types one).
 *
 * The count is kept in Redis when a connection is given (the rate limiter's: every API process adds to one
 * count), in process otherwise. Each process remembers the addresses it has refused until their window
 * ends, so that a refused flood costs no Redis command; another process refuses an address from its first
 * failure past the limit. With Redis away nothing is throttled, as with the rate limiter.
 *
 * Failures are logged at warn, at most one line a second (with how many were left out), and once more when
 * an address is throttled; never the credentials.
 */
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { RedisClient } from '../jobs/redis.js';
import { LogLimiter } from './log-limiter.js';
import { HttpProblem } from './problems.js';

export const AUTH_THROTTLED_TYPE = 'urn:levinv:problem:auth-throttled';
/** Redis keys of the count: `levinv:auth-failures:<address>`, each living one window. */
export const AUTH_FAILURE_NAMESPACE = 'levinv:auth-failures:';
const FAILURE_LOG_INTERVAL_MS = 1000;
/** Remembered windows past which a process sweeps out the ended ones (a flood from many addresses). */
const SWEEP_AT = 10_000;

export interface AuthThrottleOptions {
  /** failures per window from one address before it is refused; > 0 */
  limit: number;
  windowSeconds: number;
  redis?: RedisClient;
  log: FastifyBaseLogger;
}

interface Window {
  count: number;
  endsAt: number;
}

/** Windows in a Map, with the ended ones dropped on access or in a sweep. */
class WindowMap {
  readonly #windows = new Map<string, Window>();

  get(address: string, now: number): Window | undefined {
    const window = this.#windows.get(address);
    if (window && window.endsAt > now) return window;
    if (window) this.#windows.delete(address);
    return undefined;
  }

  set(address: string, window: Window, now: number): void {
    if (this.#windows.size >= SWEEP_AT) {
      for (const [key, w] of this.#windows) if (w.endsAt <= now) this.#windows.delete(key);
    }
    this.#windows.set(address, window);
  }
}

export class AuthThrottle {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #redis: RedisClient | undefined;
  readonly #log: FastifyBaseLogger;
  /** the count when there is no Redis */
  readonly #local = new WindowMap();
  /** addresses this process refuses, until their window ends */
  readonly #refused = new WindowMap();
  readonly #failureLines = new LogLimiter(FAILURE_LOG_INTERVAL_MS);

  constructor(options: AuthThrottleOptions) {
    this.#limit = options.limit;
    this.#windowMs = options.windowSeconds * 1000;
    this.#redis = options.redis;
    this.#log = options.log;
  }

  /** The 429 for a request from `address` while it is throttled; undefined otherwise. */
  refusal(address: string, now = Date.now()): HttpProblem | undefined {
    const window = this.#refused.get(address, now);
    return window ? this.#tooMany(window.endsAt - now) : undefined;
  }

  /**
   * Counts one failed authentication of `request`, logs it, and returns the 429 to answer instead of the
   * 401 when its address was past the limit already (its failure reached another process first).
   */
  async failed(request: FastifyRequest): Promise<HttpProblem | undefined> {
    const address = request.ip;
    let window: Window;
    try {
      window = await this.#add(address);
    } catch (error) {
      request.log.debug({ err: error }, 'failed authentication not counted: Redis unavailable');
      return undefined;
    }
    const now = Date.now();
    if (window.count >= this.#limit) this.#refused.set(address, window, now);
    const retryAfterSeconds = Math.max(1, Math.ceil((window.endsAt - now) / 1000));
    if (window.count === this.#limit) {
      // once per address and window, however many processes share the count: one INCR returns the limit
      request.log.warn(
        { ip: address, failures: window.count, windowSeconds: this.#windowMs / 1000, retryAfterSeconds },
        'too many failed authentications from this address: refused (429) until its window ends',
      );
    } else if (window.count < this.#limit) {
      this.#failureLines.maybe((unlogged) =>
        request.log.warn(
          {
            ip: address,
            method: request.method,
            route: request.routeOptions.url,
            failures: window.count,
            unlogged,
          },
          'failed authentication: wrong bearer token',
        ),
      );
    }
    return window.count > this.#limit ? this.#tooMany(window.endsAt - now) : undefined;
  }

  async #add(address: string): Promise<Window> {
    const now = Date.now();
    if (this.#redis === undefined) {
      const window = this.#local.get(address, now) ?? { count: 0, endsAt: now + this.#windowMs };
      window.count++;
      this.#local.set(address, window, now);
      return window;
    }
    const key = `${AUTH_FAILURE_NAMESPACE}${address}`;
    // A fixed window from the first failure: the key is made with its expiry, then only counted up.
    const replies = await this.#redis
      .multi()
      .set(key, '0', 'PX', this.#windowMs, 'NX')
      .incr(key)
      .pttl(key)
      .exec();
    const failed = replies?.find(([error]) => error);
    if (!replies || failed) throw failed?.[0] ?? new Error('the transaction was discarded');
    const count = Number(replies[1][1]);
    const ttl = Number(replies[2][1]);
    return { count, endsAt: now + (ttl > 0 ? ttl : this.#windowMs) };
  }

  #tooMany(remainingMs: number): HttpProblem {
    const seconds = Math.max(1, Math.ceil(remainingMs / 1000));
    return new HttpProblem(
      429,
      `more than ${this.#limit} failed authentications from this client address in ` +
        `${this.#windowMs / 1000} s (AUTH_FAILURE_LIMIT); retry in ${seconds} s`,
      { type: AUTH_THROTTLED_TYPE, title: 'Too Many Requests', headers: { 'retry-after': String(seconds) } },
    );
  }
}
