/** GET /jobs/{id}/events: Server-Sent Events in order, ending with `done`, resumable with Last-Event-ID. */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEventStream, type SseEvent } from '../../src/main/cli-submit.js';
import { expectProblem, type Harness, slowBody, startHarness, submit, waitForJob } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('api-events', { workers: 1 });
});
afterAll(() => h?.close());

async function parse(text: string): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  async function* once() {
    yield new TextEncoder().encode(text);
  }
  for await (const event of parseEventStream(once())) events.push(event);
  return events;
}

/** Stream ids as the job store writes them: Redis stream ids `ms-seq`, or plain integers. */
function compareIds(a: string, b: string): number {
  const [am, as = '0'] = a.split('-');
  const [bm, bs = '0'] = b.split('-');
  const major = BigInt(am) - BigInt(bm);
  return major !== 0n ? Number(major) : Number(BigInt(as) - BigInt(bs));
}

async function readStream(path: string, lastEventId?: string): Promise<SseEvent[]> {
  const req = h.http().get(path).buffer(true);
  if (lastEventId !== undefined) req.set('Last-Event-ID', lastEventId);
  const res = await req;
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
  return parse(res.text);
}

describe('GET /jobs/{id}/events', () => {
  it('streams state changes and progress in order, then done; Last-Event-ID resumes', async () => {
    const job = await submit(h, slowBody(1.5));
    // Opened while the job is queued or running: the live part of the stream.
    const live = await readStream(`/jobs/${job.id}/events`);

    expect(live.length).toBeGreaterThan(2);
    for (const event of live) expect(event.id).toEqual(expect.any(String));
    const ids = live.map((e) => e.id!);
    for (let i = 1; i < ids.length; i++) expect(compareIds(ids[i - 1], ids[i])).toBeLessThan(0);

    expect(live.at(-1)!.event).toBe('done');
    expect(live.filter((e) => e.event === 'done')).toHaveLength(1);
    const types = new Set(live.map((e) => e.event));
    expect([...types].every((t) => ['state', 'progress', 'done'].includes(t))).toBe(true);

    const states = live.filter((e) => e.event === 'state').map((e) => JSON.parse(e.data).state);
    expect(states).toContain('running');
    expect(states.at(-1)).toBe('succeeded');
    expect(states.indexOf('running')).toBeLessThan(states.indexOf('succeeded'));

    const progress = live.filter((e) => e.event === 'progress').map((e) => JSON.parse(e.data));
    expect(progress.length).toBeGreaterThan(0);
    const iterations = progress.map((p) => p.iteration as number);
    expect(iterations).toEqual([...iterations].sort((a, b) => a - b));
    const finished = await waitForJob(h, job.id);
    // Throttled: far fewer progress events than iterations.
    expect(progress.length).toBeLessThan(finished.result!.iterations);

    // After the end, the whole history replays; Last-Event-ID (header or query) resumes after an event.
    const replay = await readStream(`/jobs/${job.id}/events`);
    expect(replay.map((e) => e.id)).toEqual(expect.arrayContaining(ids));
    const k = Math.floor(replay.length / 2);
    const rest = await readStream(`/jobs/${job.id}/events`, replay[k].id);
    expect(rest).toEqual(replay.slice(k + 1));
    const viaQuery = await readStream(
      `/jobs/${job.id}/events?lastEventId=${encodeURIComponent(replay[k].id!)}`,
    );
    expect(viaQuery).toEqual(replay.slice(k + 1));
    const none = await readStream(`/jobs/${job.id}/events`, replay.at(-1)!.id);
    expect(none).toEqual([]);
  });

  it('lets a client hang up mid-stream without disturbing the job', async () => {
    const job = await submit(h, slowBody(1));
    const { port } = h.app.server.address() as AddressInfo;
    const controller = new AbortController();
    const res = await fetch(`http://127.0.0.1:${port}/jobs/${job.id}/events`, { signal: controller.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    await reader.read().catch(() => undefined);
    const done = await waitForJob(h, job.id);
    expect(done.state).toBe('succeeded');
    expect((await h.http().get('/healthz')).status).toBe(200);
  });

  it('ends open streams when the server closes, so close() does not wait for the job', async () => {
    const other = await startHarness('api-events-close', { workers: 1 });
    try {
      const job = await submit(other, slowBody(30));
      const { port } = other.app.server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/jobs/${job.id}/events`);
      const reader = res.body!.getReader();
      await reader.read();
      const started = Date.now();
      await other.app.close();
      expect(Date.now() - started).toBeLessThan(5000);
      // The stream ended: reading reaches its end instead of blocking.
      for (;;) if ((await reader.read()).done) break;
      await other.jobs.cancel(job.id, '');
    } finally {
      await other.close();
    }
  });

  it('answers 400 problem+json for a Last-Event-ID that no stream writes, naming where it came from', async () => {
    const job = await waitForJob(h, (await submit(h, slowBody(0.2))).id);
    // One past the 64-bit range of a Redis stream id.
    const header = await h
      .http()
      .get(`/jobs/${job.id}/events`)
      .set('Last-Event-ID', '18446744073709551616-0');
    expect(expectProblem(header, 400).errors).toEqual([
      { header: 'last-event-id', detail: 'expected an event id from this stream (ms-seq)' },
    ]);
    const query = await h.http().get(`/jobs/${job.id}/events?lastEventId=latest`);
    expect(expectProblem(query, 400).errors).toEqual([
      { parameter: 'lastEventId', detail: 'expected an event id from this stream (ms-seq)' },
    ]);
    // The largest id in range is valid: nothing comes after it.
    const last = await h
      .http()
      .get(`/jobs/${job.id}/events`)
      .set('Last-Event-ID', '18446744073709551615-0')
      .buffer(true);
    expect(last.status).toBe(200);
    expect(await parse(last.text)).toEqual([]);
  });

  it('answers 404 problem+json for an unknown job', async () => {
    expectProblem(await h.http().get('/jobs/00000000-0000-4000-8000-000000000000/events'), 404);
  });
});
