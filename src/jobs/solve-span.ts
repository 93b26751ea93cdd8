/**
 * The span of one solve in a worker, a child of BullMQ's process span when tracing is on (the solver itself
 * knows nothing of tracing: this wraps the thread that runs it). Off, these are the OpenTelemetry API's
 * no-ops.
 */
import { type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ThreadOutcome } from './thread-protocol.js';

export const SOLVE_SPAN_NAME = 'solve';

export function startSolveSpan(
  jobId: string,
  problem: { method: string; n: number; d: number },
  resumedFrom?: number,
): Span {
  return trace.getTracer('levinv').startSpan(SOLVE_SPAN_NAME, {
    attributes: {
      'levinv.job.id': jobId,
      'levinv.method': problem.method,
      'levinv.n': problem.n,
      'levinv.d': problem.d,
      ...(resumedFrom === undefined ? {} : { 'levinv.resumed_from': resumedFrom }),
    },
  });
}

/** Ends the span with how the solve ended: its iterations and reason, or the error. */
export function endSolveSpan(span: Span, ended: ThreadOutcome | Error): void {
  if (ended instanceof Error) {
    span.recordException(ended);
    span.setStatus({ code: SpanStatusCode.ERROR, message: ended.message });
  } else if (ended.type === 'error') {
    span.setAttribute('levinv.error.code', ended.error.code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: ended.error.message });
  } else {
    const { iterations, converged, reason, loss } = ended.result;
    span.setAttributes({
      'levinv.iterations': iterations,
      'levinv.converged': converged,
      'levinv.reason': reason,
      'levinv.loss': loss,
    });
  }
  span.end();
}
