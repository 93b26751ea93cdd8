/**
 * The API's Prometheus metrics, through prom-client, in a Registry of the app's own (several apps in one
 * process, as in the tests, must not share series).
 *
 * Two kinds of series, and they aggregate differently across API replicas:
 * - per process: what this process did or is (Node's default metrics, HTTP latency and request counts,
 *   jobs submitted through it, whether the store answered its scrape). Counters and histograms of
 *   several replicas add up: `sum by (...)` them.
 * - cluster-wide: read from Redis at scrape time (jobs by state, queue depth, and the solve-time
 *   histogram that every worker adds to in Redis). Every replica reports the same figures, so a sum over
 *   N replicas counts N times: take `max by (...)` (their HELP says so).
 */
import {
  Counter,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  type Metric,
  type MetricValueWithName,
  Registry,
} from 'prom-client';
import { JOB_STATES, type QueueStats } from '../jobs/types.js';

export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** Seconds; HTTP handling here is milliseconds except SSE streams, which run as long as their job. */
export const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const CLUSTER_WIDE =
  'cluster-wide, read from Redis: every API replica reports the same value, aggregate with max';

type HttpLabels = 'method' | 'route' | 'status_code';

type Sample = MetricValueWithName<string>;

/**
 * A series read from Redis at scrape time (the jobs by state, the queue depth, the solve-time histogram
 * the workers keep in Redis): prom-client writes it but does not count it, so a metric object of our own
 * that hands the registry the samples of the last figures read, and none when the store did not answer.
 */
class ScrapedMetric {
  readonly aggregator = 'max' as const;
  private samples: Sample[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'gauge' | 'histogram',
    private readonly toSamples: (stats: QueueStats) => Sample[],
  ) {}

  update(stats: QueueStats | null): void {
    this.samples = stats ? this.toSamples(stats) : [];
  }

  reset(): void {
    this.samples = [];
  }

  // (prom-client's .d.ts types `type` as a numeric enum; at run time, and in the text, it is this string)
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    const { name, help, type, aggregator } = this;
    return { name, help, type, aggregator, values: this.samples };
  }
}

/** The workers' histogram in Redis (cumulative counts per bound) as Prometheus samples. */
function histogramSamples(name: string, h: QueueStats['solveSeconds']): Sample[] {
  // Infinity does not survive JSON (it comes back as null), so either spelling marks the last bucket.
  const isInf = (bound: number | null | undefined): boolean =>
    bound === null || bound === Number.POSITIVE_INFINITY;
  const samples: Sample[] = h.bounds.map((bound, i) => ({
    metricName: `${name}_bucket`,
    labels: { le: isInf(bound) ? '+Inf' : bound },
    value: h.counts[i],
  }));
  // The format requires a +Inf bucket even from a store that left it out.
  if (!isInf(h.bounds.at(-1)))
    samples.push({ metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: h.count });
  samples.push({ metricName: `${name}_sum`, labels: {}, value: h.sum });
  samples.push({ metricName: `${name}_count`, labels: {}, value: h.count });
  return samples;
}

export class ApiMetrics {
  readonly registry = new Registry();
  private readonly httpDuration: Histogram<HttpLabels>;
  private readonly httpRequests: Counter<HttpLabels>;
  private readonly jobsSubmitted: Counter;
  private readonly storeUp: Gauge;
  private readonly scraped: ScrapedMetric[];

  constructor() {
    const registers = [this.registry];
    // process_*, nodejs_* (event-loop lag as nodejs_eventloop_lag_*, heap, GC, handles): per process
    collectDefaultMetrics({ register: this.registry });
    this.httpDuration = new Histogram({
      name: 'levinv_http_request_duration_seconds',
      help: 'HTTP request latency by method, route template and status code (per process)',
      labelNames: ['method', 'route', 'status_code'],
      buckets: HTTP_BUCKETS,
      registers,
    });
    this.httpRequests = new Counter({
      name: 'levinv_http_requests_total',
      help: 'HTTP requests answered by this process, by method, route template and status code',
      labelNames: ['method', 'route', 'status_code'],
      registers,
    });
    this.jobsSubmitted = new Counter({
      name: 'levinv_jobs_submitted_total',
      help: 'jobs created through this process (an idempotent replay creates none)',
      registers,
    });
    this.storeUp = new Gauge({
      name: 'levinv_store_up',
      help: 'whether the job store answered this process at its last scrape (per process)',
      registers,
    });
    const solve = 'levinv_solve_duration_seconds';
    this.scraped = [
      new ScrapedMetric('levinv_jobs', `retained jobs by state (${CLUSTER_WIDE})`, 'gauge', (stats) =>
        JOB_STATES.map((state) => ({ labels: { state }, value: stats.byState[state] ?? 0 })),
      ),
      new ScrapedMetric(
        'levinv_queue_depth',
        `jobs waiting for a worker (${CLUSTER_WIDE})`,
        'gauge',
        (stats) => [{ labels: {}, value: stats.queueDepth }],
      ),
      new ScrapedMetric(
        solve,
        `wall time of finished solves, counted by the workers (${CLUSTER_WIDE})`,
        'histogram',
        (stats) => histogramSamples(solve, stats.solveSeconds),
      ),
    ];
    // prom-client takes any object that answers get() like its own metrics
    for (const metric of this.scraped) this.registry.registerMetric(metric as unknown as Metric);
  }

  /** One answered request; `route` is the route template, never the raw URL (job ids would explode it). */
  observeRequest(method: string, route: string, statusCode: number, seconds: number): void {
    const labels = { method, route, status_code: String(statusCode) };
    this.httpDuration.observe(labels, seconds);
    this.httpRequests.inc(labels);
  }

  jobSubmitted(): void {
    this.jobsSubmitted.inc();
  }

  /**
   * The exposition, with the cluster-wide figures of `stats`; null: the store could not be read, then
   * levinv_store_up is 0 and the Redis-read series have no samples (rather than stale ones).
   */
  render(stats: QueueStats | null): Promise<string> {
    this.storeUp.set(stats ? 1 : 0);
    for (const metric of this.scraped) metric.update(stats);
    return this.registry.metrics();
  }
}
