/**
 * What a worker records about one solve besides the job itself: a span, a child of BullMQ's process span
 * when tracing is on (the no-op API's otherwise), and the process's own solve counters when it keeps
 * metrics (worker-metrics.ts). The solver knows nothing of either: this wraps the thread that runs it.
 */
import { performance } from 'node:perf_hooks';
import { type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ThreadOutcome } from './thread-protocol.js';
import type { WorkerMetrics } from './worker-metrics.js';

export const SOLVE_SPAN_NAME = 'solve';

export interface SolveObserver {
  /** how the solve ended: its result, the solver's error, or the thread's crash */
  end(ended: ThreadOutcome | Error): void;
}

export function observeSolve(
  jobId: string,
  problem: { method: string; n: number; d: number },
  resumedFrom: number | undefined,
  metrics: WorkerMetrics | undefined,
): SolveObserver {
  const span = startSolveSpan(jobId, problem, resumedFrom);
  const started = performance.now();
  metrics?.solveStarted();
  return {
    end(ended) {
      endSolveSpan(span, ended);
      metrics?.solveEnded(ended, (performance.now() - started) / 1000);
    },
  };
}

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
