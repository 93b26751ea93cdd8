/**
 * Requests a client holds open: event streams and `Prefer: wait` submissions. Each keeps a socket and a live
 * subscription of this process until it ends, so one key (one client address when the service is open) may
 * hold at most `max` of them at once. Both kinds share one count: they cost the same thing, and one number
 * is one share of the process's sockets. Counted in process, not in Redis: what it protects is this
 * process's, and a count that lives with the process cannot outlive it (a shared one would leak the leases
 * of a process that died).
 */
import type { FastifyRequest } from 'fastify';
import { KeyedLeases, type Lease } from '../limits/keyed-leases.js';
import { HttpProblem } from './problems.js';
import { rateLimitKey } from './rate-limit.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** the requests each key holds open now (decorated by the identity plugin) */
    heldRequests: HeldRequests;
  }
}

export const TOO_MANY_HELD_TYPE = 'urn:levinv:problem:too-many-held-requests';
/** What a refused event stream suggests: streams last as long as their jobs, so no sooner than this. */
export const HELD_RETRY_AFTER_SECONDS = 5;

/** One held request. */
export type HeldLease = Lease;

export class HeldRequests extends KeyedLeases {
  /** A lease for one more request of the request's key (its address when open); undefined: at the cap. */
  tryHold(request: FastifyRequest): HeldLease | undefined {
    return this.tryAcquire(rateLimitKey(request));
  }

  /** The 429 of a request that would hold one more than `max`. */
  refusal(request: FastifyRequest): HttpProblem {
    const who = request.owner === '' ? 'client address' : 'API key';
    return new HttpProblem(
      429,
      `this ${who} already holds ${this.max} open event streams and waiting requests ` +
        `(MAX_HELD_REQUESTS_PER_KEY); close one, or retry in ${HELD_RETRY_AFTER_SECONDS} s`,
      {
        type: TOO_MANY_HELD_TYPE,
        title: 'Too Many Requests',
        headers: { 'retry-after': String(HELD_RETRY_AFTER_SECONDS) },
      },
    );
  }
}
