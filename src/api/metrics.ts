/**
 * Prometheus text exposition (format 0.0.4), written by hand: one labelled histogram kept in memory for HTTP
 * latency, and formatting for the job figures that `JobService.stats()` reads from Redis at scrape time.
 */
import { JOB_STATES, type QueueStats } from '../jobs/types.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Seconds; HTTP handling here is milliseconds except SSE streams, which run as long as their job. */
export const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

type Labels = Record<string, string>;

/** Label values escaped as the format requires (backslash, double quote, newline). */
function formatLabels(labels: Labels, extra?: [string, string]): string {
  const pairs = Object.entries(labels);
  if (extra) pairs.push(extra);
  if (pairs.length === 0) return '';
  const body = pairs
    .map(([k, v]) => `${k}="${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`)
    .join(',');
  return `{${body}}`;
}

function formatNumber(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return Number.isNaN(value) ? 'NaN' : String(value);
}

interface Series {
  labels: Labels;
  /** per bucket, not cumulative (cumulated when written) */
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram {
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    /** upper bounds, ascending, without +Inf */
    readonly buckets: readonly number[],
  ) {}

  observe(labels: Labels, value: number): void {
    const key = JSON.stringify(labels);
    let series = this.series.get(key);
    if (!series) {
      series = { labels, counts: new Array(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    const index = this.buckets.findIndex((bound) => value <= bound);
    if (index >= 0) series.counts[index]++;
    series.sum += value;
    series.count++;
  }

  write(lines: string[]): void {
    lines.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const series of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((bound, i) => {
        cumulative += series.counts[i];
        lines.push(
          `${this.name}_bucket${formatLabels(series.labels, ['le', formatNumber(bound)])} ${cumulative}`,
        );
      });
      lines.push(`${this.name}_bucket${formatLabels(series.labels, ['le', '+Inf'])} ${series.count}`);
      lines.push(`${this.name}_sum${formatLabels(series.labels)} ${formatNumber(series.sum)}`);
      lines.push(`${this.name}_count${formatLabels(series.labels)} ${series.count}`);
    }
  }
}

export function createHttpMetrics(): Histogram {
  return new Histogram(
    'levinv_http_request_duration_seconds',
    'HTTP request latency by method, route template and status code',
    HTTP_BUCKETS,
  );
}

function gauge(lines: string[], name: string, help: string, samples: [Labels, number][]): void {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
  for (const [labels, value] of samples) lines.push(`${name}${formatLabels(labels)} ${formatNumber(value)}`);
}

/** The job series; `stats` is null when the store could not be read (then only levinv_store_up 0). */
export function writeJobMetrics(lines: string[], stats: QueueStats | null): void {
  gauge(lines, 'levinv_store_up', 'whether the job store answered this scrape', [[{}, stats ? 1 : 0]]);
  if (!stats) return;
  gauge(
    lines,
    'levinv_jobs',
    'retained jobs by state',
    JOB_STATES.map((state) => [{ state }, stats.byState[state] ?? 0]),
  );
  gauge(lines, 'levinv_queue_depth', 'jobs waiting for a worker', [[{}, stats.queueDepth]]);

  const h = stats.solveSeconds;
  const name = 'levinv_solve_duration_seconds';
  lines.push(`# HELP ${name} wall time of finished solves`, `# TYPE ${name} histogram`);
  // Infinity does not survive JSON (it comes back as null), so either spelling marks the last bucket.
  const isInf = (bound: number | null | undefined): boolean =>
    bound === null || bound === Number.POSITIVE_INFINITY;
  h.bounds.forEach((bound, i) => {
    const le = isInf(bound) ? '+Inf' : formatNumber(bound);
    lines.push(`${name}_bucket${formatLabels({}, ['le', le])} ${h.counts[i]}`);
  });
  // The format requires a +Inf bucket even from a store that left it out.
  if (!isInf(h.bounds.at(-1))) lines.push(`${name}_bucket{le="+Inf"} ${h.count}`);
  lines.push(`${name}_sum ${formatNumber(h.sum)}`, `${name}_count ${h.count}`);
}
