/**
 * Back-pressure on large POST /solve bodies, so that slow or stalled uploads cannot deny others:
 * - at most `max` in flight at once, all callers together: a bound on the memory they hold (each costs the
 *   event loop its socket reads and the garbage collection of tens of MB; with 20 x 44 MB arriving at once,
 *   /healthz waited up to 0.2-0.5 s here). Past it: 503 with Retry-After.
 * - at most `maxPerKey` per caller (API key; client address when the service is open), so that one caller's
 *   uploads never take every slot. Past it: 429 with Retry-After.
 * Both are refused before the body is read (Node then discards the body it does not read).
 * - a minimum receive rate: after the headers, each `graceMs` must bring at least `minBytesPerSecond` x
 *   `graceMs` bytes until the body is complete, else the upload is over: its slot is freed at once and its
 *   body reader (`whileArriving`) answers 408 problem+json and closes the connection.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { KeyedLeases, type Lease } from '../limits/keyed-leases.js';
import { HttpProblem } from './problems.js';
import { rateLimitKey } from './rate-limit.js';

export interface UploadLimits {
  /** large bodies in flight at once, all callers together (config MAX_LARGE_UPLOADS) */
  max: number;
  /** large bodies in flight at once per API key, or per client address when open (MAX_LARGE_UPLOADS_PER_KEY) */
  maxPerKey: number;
  /** the slowest a large body may arrive, in bytes per second; 0: no minimum (MIN_UPLOAD_BYTES_PER_SECOND) */
  minBytesPerSecond: number;
  /** the window the rate is measured over, the first one starting at the headers (UPLOAD_GRACE_MS) */
  graceMs: number;
}

/**
 * Two per key keep one body parsing while the next arrives (the API of a 2-core host has one parse thread);
 * four in all let two keys do so at once, holding at most 4 x MAX_BODY_BYTES. 16 KiB/s over 5 s windows
 * stops a client that dribbles or stalls within 5-10 s; no real upload is that slow.
 */
export const DEFAULT_UPLOAD_LIMITS: UploadLimits = {
  max: 4,
  maxPerKey: 2,
  minBytesPerSecond: 16 * 1024,
  graceMs: 5000,
};

export interface UploadGateOptions extends UploadLimits {
  /** a body is large above this many bytes, or when its size is unknown or it is compressed */
  thresholdBytes: number;
}

export const TOO_MANY_UPLOADS_TYPE = 'urn:levinv:problem:too-many-uploads';

function isLarge(request: FastifyRequest, thresholdBytes: number): boolean {
  const length = Number(request.headers['content-length']);
  const encoding = request.headers['content-encoding'];
  const compressed = encoding !== undefined && encoding !== 'identity';
  return compressed || !(length <= thresholdBytes);
}

/** Aborted when a request's upload is too slow; its reason is the 408. */
const stalls = new WeakMap<FastifyRequest, AbortSignal>();

/**
 * `reading` (the request's body being read), or the 408 as soon as the upload gate finds the body arriving
 * too slowly. The abandoned read ends when the connection closes after the answer.
 */
export function whileArriving<T>(request: FastifyRequest, reading: Promise<T>): Promise<T> {
  const stalled = stalls.get(request);
  if (stalled === undefined) return reading;
  if (stalled.aborted) {
    reading.catch(() => undefined);
    return Promise.reject(stalled.reason);
  }
  let onAbort = (): void => undefined;
  const tooSlow = new Promise<never>((_, reject) => {
    onAbort = () => reject(stalled.reason);
    stalled.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([reading, tooSlow]).finally(() => stalled.removeEventListener('abort', onAbort));
}

/** An onRequest hook for the route. */
export function uploadGate(options: UploadGateOptions) {
  const uploads = new KeyedLeases(options.maxPerKey);
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!isLarge(request, options.thresholdBytes)) return;
    const key = rateLimitKey(request);
    const mine = uploads.count(key);
    if (mine >= options.maxPerKey) {
      const who = request.owner === '' ? 'client address' : 'API key';
      throw new HttpProblem(
        429,
        `this ${who} already has ${mine} large bodies being received (MAX_LARGE_UPLOADS_PER_KEY = ` +
          `${options.maxPerKey}); retry after the Retry-After seconds`,
        { type: TOO_MANY_UPLOADS_TYPE, title: 'Too many uploads', headers: { 'retry-after': '1' } },
      );
    }
    const inFlight = uploads.total;
    if (inFlight >= options.max) {
      throw new HttpProblem(
        503,
        `${inFlight} large problem bodies are being received; retry after the Retry-After seconds`,
        { headers: { 'retry-after': '1' } },
      );
    }
    // below both caps: the lease is granted
    const lease = uploads.tryAcquire(key) as Lease;
    const release = (): void => {
      clearInterval(watch);
      lease.release();
    };
    // 'close' comes exactly once, whether the answer was sent or the client went away
    reply.raw.once('close', release);
    const watch = watchRate(request, options, release);
  };
}

/**
 * Checks every `graceMs` that the socket delivered enough bytes since the last check (the socket's count:
 * a compressed body's encoded bytes, what the network brings), until the body is complete. Socket reads
 * stop only when nobody reads the body, and the body readers read as fast as bytes come.
 */
function watchRate(
  request: FastifyRequest,
  { minBytesPerSecond, graceMs }: UploadLimits,
  onStall: () => void,
): NodeJS.Timeout | undefined {
  if (minBytesPerSecond <= 0) return undefined;
  const socket = request.raw.socket;
  const needed = Math.ceil((minBytesPerSecond * graceMs) / 1000);
  const stall = new AbortController();
  stalls.set(request, stall.signal);
  let last = socket.bytesRead;
  const timer = setInterval(() => {
    if (request.raw.complete || socket.destroyed) {
      clearInterval(timer);
      return;
    }
    const now = socket.bytesRead;
    const got = now - last;
    last = now;
    if (got >= needed) return;
    clearInterval(timer);
    onStall();
    stall.abort(
      new HttpProblem(
        408,
        `the body arrived too slowly: ${got} bytes in the last ${graceMs} ms, under the minimum of ` +
          `${minBytesPerSecond} bytes/s (MIN_UPLOAD_BYTES_PER_SECOND)`,
        // the rest of the body is not wanted: the connection closes after the answer
        { headers: { connection: 'close' } },
      ),
    );
  }, graceMs);
  timer.unref();
  return timer;
}
