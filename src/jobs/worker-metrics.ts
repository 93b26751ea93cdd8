/**
 * A worker process's own solve figures, for Prometheus: they add up across worker processes (`sum`), unlike
 * levinv_solve_duration_seconds, which the workers keep together in Redis and the API reports
 * cluster-wide. Registered into a registry the caller serves: the worker's metrics listener
 * (WORKER_METRICS_PORT), or the API's /metrics when API and workers share a process (`npm start`).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { SOLVE_SECONDS_BUCKETS } from '../limits/job-limits.js';
import type { ThreadOutcome } from './thread-protocol.js';

/** How a solve ended, as a label: a bounded set, never a message. */
export type SolveOutcome = 'converged' | 'not-converged' | 'error' | 'crashed';

export function solveOutcome(ended: ThreadOutcome | Error): SolveOutcome {
  if (ended instanceof Error) return 'crashed';
  if (ended.type === 'error') return 'error';
  return ended.result.converged ? 'converged' : 'not-converged';
}

export class WorkerMetrics {
  private readonly solves: Counter<'outcome'>;
  private readonly seconds: Histogram<'outcome'>;
  private readonly running: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.solves = new Counter({
      name: 'levinv_worker_solves_total',
      help: 'solves this process ran to an end, by outcome (converged, not-converged, error, crashed)',
      labelNames: ['outcome'],
      registers,
    });
    this.seconds = new Histogram({
      name: 'levinv_worker_solve_duration_seconds',
      help: 'wall time of the solves this process ran, by outcome (per process)',
      labelNames: ['outcome'],
      // the same buckets as levinv_solve_duration_seconds
      buckets: [...SOLVE_SECONDS_BUCKETS],
      registers,
    });
    this.running = new Gauge({
      name: 'levinv_worker_solves_running',
      help: 'solves running in this process now',
      registers,
    });
    // every outcome from the start, so that rate() sees the first one
    for (const outcome of ['converged', 'not-converged', 'error', 'crashed'] as const)
      this.solves.inc({ outcome }, 0);
  }

  solveStarted(): void {
    this.running.inc();
  }

  solveEnded(ended: ThreadOutcome | Error, seconds: number): void {
    const outcome = solveOutcome(ended);
    this.running.dec();
    this.solves.inc({ outcome });
    this.seconds.observe({ outcome }, seconds);
  }
}
