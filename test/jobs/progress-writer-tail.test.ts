/**
 * ProgressWriter's tail: a batch pushed in the same turn of the event loop as the solve's result is not
 * written by PROGRESS but handed over (takePending) to go with the result; anything else is written as
 * before, in order.
 */
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { ProgressWriter } from '../../src/jobs/progress-writer.js';
import type { JobStore, ProgressBatch } from '../../src/jobs/store.js';
import type { IteratesMessage } from '../../src/jobs/thread-protocol.js';

const record = (i: number): string => JSON.stringify([i, 1, 1]);

function batch(from: number, to: number, truncated = false): IteratesMessage {
  const records: string[] = [];
  for (let i = from; i <= to; i++) records.push(record(i));
  return {
    type: 'iterates',
    records,
    progress: { iteration: to, loss: 1, gradNorm: 1 },
    checkpoint: { iteration: to } as never,
    checkpointRecord: record(to),
    truncated,
  };
}

function fakeStore(): { store: JobStore; writes: ProgressBatch[] } {
  const writes: ProgressBatch[] = [];
  let recorded = 0;
  const store = {
    async progress(_id: string, _token: string, b: ProgressBatch) {
      writes.push(b);
      recorded += b.records.length;
      return { recorded, cancelRequested: false };
    },
  } as unknown as JobStore;
  return { store, writes };
}

const silent = pino({ level: 'silent' });

it('hands over the batches pushed in this turn, merged, and writes nothing of them', async () => {
  const { store, writes } = fakeStore();
  const writer = new ProgressWriter(store, 'id', 'tok', 0, () => undefined, silent);
  writer.push(batch(0, 2));
  writer.push(batch(3, 5, true));
  const tail = writer.takePending();
  expect(tail).not.toBeNull();
  expect(tail!.records).toEqual([0, 1, 2, 3, 4, 5].map(record));
  expect(tail!.checkpoint).toEqual({ iteration: 5 });
  expect(tail!.progress).toEqual({ iteration: 5, loss: 1, gradNorm: 1 });
  expect(tail!.truncated).toBe(true);
  await writer.drain();
  await new Promise((r) => setImmediate(r));
  expect(writes).toHaveLength(0);
  expect(writer.takePending()).toBeNull();
});

it('writes a batch on the next turn when nobody takes it, and leaves nothing to take after', async () => {
  const { store, writes } = fakeStore();
  const writer = new ProgressWriter(store, 'id', 'tok', 0, () => undefined, silent);
  writer.push(batch(0, 2));
  await new Promise((r) => setImmediate(r));
  await writer.drain();
  expect(writes.map((w) => w.records.length)).toEqual([3]);
  expect(writes[0].checkpoint).toEqual({ iteration: 2 });
  expect(writer.recorded).toBe(3);
  expect(writer.takePending()).toBeNull();
});

it('leaves a tail too large for one call to PROGRESS, in pieces, checkpoint with the last', async () => {
  const { store, writes } = fakeStore();
  const writer = new ProgressWriter(store, 'id', 'tok', 0, () => undefined, silent);
  writer.push(batch(0, 5999));
  expect(writer.takePending()).toBeNull();
  await writer.drain();
  expect(writes.map((w) => w.records.length)).toEqual([5000, 1000]);
  expect(writes[0].checkpoint).toBeNull();
  expect(writes[1].checkpoint).toEqual({ iteration: 5999 });
  expect(writer.recorded).toBe(6000);
});

it('waits for a write in flight, and hands over only what came after it', async () => {
  const { store, writes } = fakeStore();
  const writer = new ProgressWriter(store, 'id', 'tok', 0, () => undefined, silent);
  writer.push(batch(0, 1));
  await new Promise((r) => setImmediate(r));
  // the first write is in flight now
  writer.push(batch(2, 3));
  const tail = writer.takePending();
  await writer.drain();
  expect(writes.map((w) => w.records)).toEqual([[record(0), record(1)]]);
  expect(tail!.records).toEqual([record(2), record(3)]);
});
