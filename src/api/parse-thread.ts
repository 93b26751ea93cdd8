/** The parse thread's body: one POST /solve body at a time, the typed arrays moved back to the API thread. */
import { parentPort } from 'node:worker_threads';
import { prepareSolveBody, transferList } from './solve-body.js';

export interface ParseTask {
  id: number;
  /** the body as it arrived, joined here rather than on the API's event loop (a 44 MB copy takes ~0.1 s) */
  chunks: Uint8Array[];
  withFingerprint: boolean;
}

if (!parentPort) throw new Error('parse-thread.js runs as a worker thread');
const port = parentPort;
port.on('message', ({ id, chunks, withFingerprint }: ParseTask) => {
  // The blob too: encoding 16 MB of numbers on the event loop took up to 70 ms (fresh pages).
  const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
  const outcome = prepareSolveBody(body, withFingerprint, true);
  port.postMessage({ id, outcome }, outcome.ok ? transferList(outcome.parsed, outcome.blob) : []);
});
