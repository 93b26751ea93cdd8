/** The parse thread's body: one POST /solve body at a time, the typed arrays moved back to the API thread. */
import { parentPort } from 'node:worker_threads';
import { prepareSolveBody, transferList } from './solve-body.js';

export interface ParseTask {
  id: number;
  bytes: Uint8Array;
  withFingerprint: boolean;
}

if (!parentPort) throw new Error('parse-thread.js runs as a worker thread');
const port = parentPort;
port.on('message', ({ id, bytes, withFingerprint }: ParseTask) => {
  const outcome = prepareSolveBody(bytes, withFingerprint);
  port.postMessage({ id, outcome }, outcome.ok ? transferList(outcome.parsed) : []);
});
