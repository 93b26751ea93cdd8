/**
 * The job layer's lifecycle events (src/jobs/job-events.ts): what a listener the entry points hand to
 * startWorkers or createJobService hears, in which order, and that a failing listener costs a job nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { JobListener, JobListenerFactory } from '../../src/jobs/index.js';
import { redisForFile } from '../helpers/redis.js';
import { generated, type Harness, harness, longGd, OWNER, waitFor } from './harness.js';

const redis = redisForFile();
let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

type Heard = { event: string; jobId: string; state: string; iteration?: number };

function recorder(): { heard: Heard[]; closed: () => number; listener: JobListenerFactory } {
  const heard: Heard[] = [];
  let closes = 0;
  const listener: JobListenerFactory = () => ({
    started: (meta, view) => heard.push({ event: 'started', jobId: meta.id, state: view.state }),
    progressed: (meta, progress, view) =>
      heard.push({ event: 'progressed', jobId: meta.id, state: view().state, iteration: progress.iteration }),
    finished: async (meta) => {
      heard.push({ event: 'finished', jobId: meta.id, state: meta.state });
    },
    close: async () => {
      closes += 1;
    },
  });
  return { heard, closed: () => closes, listener };
}

const throwing: JobListenerFactory = (): JobListener => ({
  started: () => {
    throw new Error('started listener broke');
  },
  progressed: () => {
    throw new Error('progressed listener broke');
  },
  finished: () => Promise.reject(new Error('finished listener broke')),
});

describe('job lifecycle events', () => {
  it('a worker announces started once, then progress by iteration, then finished with the final state', async () => {
    h = await harness(redis.url, 'events-order');
    const { heard, closed, listener } = recorder();
    const workers = await h.startWorkers({ listeners: [listener], flushMs: 0 });
    const { job } = await h.service.submit(generated(60, 3, 7));
    await h.waitForState(job.id, ['succeeded']);
    await waitFor(
      () => heard.some((e) => e.event === 'finished'),
      10_000,
      () => 'no finished event',
    );
    const events = heard.filter((e) => e.jobId === job.id);
    expect(events[0]).toEqual({ event: 'started', jobId: job.id, state: 'running' });
    expect(events.at(-1)).toEqual({ event: 'finished', jobId: job.id, state: 'succeeded' });
    expect(events.filter((e) => e.event === 'started')).toHaveLength(1);
    expect(events.filter((e) => e.event === 'finished')).toHaveLength(1);
    const iterations = events.filter((e) => e.event === 'progressed').map((e) => e.iteration!);
    expect(iterations.length).toBeGreaterThan(0);
    expect(iterations).toEqual([...iterations].sort((a, b) => a - b));
    expect(events.slice(1, -1).every((e) => e.event === 'progressed' && e.state === 'running')).toBe(true);
    await workers.close();
    expect(closed()).toBe(1);
  });

  it('a listener that throws in every event costs the job nothing, and the others still hear it', async () => {
    h = await harness(redis.url, 'events-throwing');
    const { heard, listener } = recorder();
    await h.startWorkers({ listeners: [throwing, listener] });
    const { job } = await h.service.submit(generated(40, 3, 8));
    const done = await h.waitForState(job.id, ['succeeded', 'failed']);
    expect(done.state).toBe('succeeded');
    expect(done.result?.converged).toBe(true);
    await waitFor(
      () => heard.some((e) => e.event === 'finished'),
      10_000,
      () => 'no finished event',
    );
    expect(heard.map((e) => e.event)).toContain('started');
  });

  it("the service announces a queued job's cancel as finished, cancelled", async () => {
    const { heard, listener } = recorder();
    h = await harness(redis.url, 'events-cancel', { service: { listeners: [listener] } });
    // no workers: the job stays queued
    const { job } = await h.service.submit(longGd(5));
    const cancelled = await h.service.cancel(job.id, OWNER);
    expect(cancelled?.state).toBe('cancelled');
    expect(heard).toEqual([{ event: 'finished', jobId: job.id, state: 'cancelled' }]);
  });
});
