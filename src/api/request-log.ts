/**
 * One log line per request, at its end ("request completed"; fastify's own are two, both at info). A read
 * that succeeded is debug: a dashboard or a client polling a job would flood the info log. Fastify's other
 * request logs stay off: errors are logged once, by the error handler (problems.ts).
 */
import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';

export class RequestLog extends LogController {
  constructor() {
    super({ disableRequestLogging: true });
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const read = (request.method === 'GET' || request.method === 'HEAD') && reply.statusCode < 400;
    const level = error ? 'error' : read ? 'debug' : 'info';
    request.log[level](
      { req: request, res: reply, responseTime: reply.elapsedTime, ...(error ? { err: error } : {}) },
      'request completed',
    );
  }
}
