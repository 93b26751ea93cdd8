/** The parse thread's body: one POST /solve body at a time, the typed arrays moved back to the API thread. */
import { parentPort } from 'node:worker_threads';
import { type NpyPart, prepareNpyBody } from './npy-body.js';
import { prepareSolveBody, transferList } from './solve-body.js';

export interface ParseTask {
  id: number;
  /** the body as it arrived, joined here rather than on the API's event loop (a 44 MB copy takes ~0.1 s) */
  chunks: Uint8Array[];
  /** a binary upload instead (npy-body.ts): each .npy part's chunks, and the json part */
  npy?: { files: Partial<Record<NpyPart, Uint8Array[]>>; json?: string };
  withFingerprint: boolean;
}

const join = (chunks: Uint8Array[]): Uint8Array => (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));

if (!parentPort) throw new Error('parse-thread.js runs as a worker thread');
const port = parentPort;
port.on('message', ({ id, chunks, npy, withFingerprint }: ParseTask) => {
  // The blob too: encoding 16 MB of numbers on the event loop took up to 70 ms (fresh pages).
  const outcome = npy
    ? prepareNpyBody(
        Object.fromEntries(Object.entries(npy.files).map(([name, parts]) => [name, join(parts)])),
        npy.json,
        withFingerprint,
        true,
      )
    : prepareSolveBody(join(chunks), withFingerprint, true);
  port.postMessage({ id, outcome }, outcome.ok ? transferList(outcome.parsed, outcome.blob) : []);
});
