/**
 * Back-pressure on large POST /solve bodies: at most `max` in flight at once. Each costs the event loop its
 * socket reads and the garbage collection of tens of MB; with 20 x 44 MB arriving at once, /healthz waited
 * up to 0.2-0.5 s here. Past the limit a large upload is refused before its body is read: 503 problem+json
 * with Retry-After (Node then discards the body it does not read).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpProblem } from './problems.js';

export interface UploadGateOptions {
  /** large bodies in flight at once */
  max: number;
  /** a body is large above this many bytes, or when its size is unknown or it is compressed */
  thresholdBytes: number;
}

function isLarge(request: FastifyRequest, thresholdBytes: number): boolean {
  const length = Number(request.headers['content-length']);
  const encoding = request.headers['content-encoding'];
  const compressed = encoding !== undefined && encoding !== 'identity';
  return compressed || !(length <= thresholdBytes);
}

/** An onRequest hook for the route. */
export function uploadGate(options: UploadGateOptions) {
  let inFlight = 0;
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!isLarge(request, options.thresholdBytes)) return;
    if (inFlight >= options.max) {
      throw new HttpProblem(
        503,
        `${inFlight} large problem bodies are being received; retry after the Retry-After seconds`,
        { headers: { 'retry-after': '1' } },
      );
    }
    inFlight++;
    // 'close' comes exactly once, whether the answer was sent or the client went away
    reply.raw.once('close', () => {
      inFlight--;
    });
  };
}
