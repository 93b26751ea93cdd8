/** A worker process's /metrics: Node's process metrics and its solve counters, on WORKER_METRICS_PORT. */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { AuthOptions } from '../api/auth.js';
import { WorkerMetrics } from '../jobs/worker-metrics.js';
import { type MetricsServer, startMetricsServer } from './metrics-server.js';

export interface WorkerMetricsServer extends MetricsServer {
  workerMetrics: WorkerMetrics;
}

export async function startWorkerMetrics(opts: {
  host: string;
  port: number;
  auth: AuthOptions | undefined;
}): Promise<WorkerMetricsServer> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const workerMetrics = new WorkerMetrics(registry);
  const server = await startMetricsServer({ ...opts, registry });
  return { ...server, workerMetrics };
}
