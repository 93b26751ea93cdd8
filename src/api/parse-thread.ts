/** The parse thread's body: one POST /solve body at a time, the typed arrays moved back to the API thread. */
import { parentPort } from 'node:worker_threads';
import { prepareNpyBody } from './npy-body.js';
import type { ParseReply, ParseTask } from './parse-messages.js';
import { prepareSolveBody, transferList } from './solve-body.js';

/**
 * One buffer of exactly the body's bytes: the single chunk the pool moved here (it owns its memory), or a
 * fresh copy of several. Not Buffer.concat, which puts small results in the thread's shared pool: the arrays
 * parsed from them are moved back, and a pooled buffer can be neither moved (it holds other bodies) nor
 * cloned without the other bodies' bytes.
 */
function join(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(chunks.reduce((total, chunk) => total + chunk.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

if (!parentPort) throw new Error('parse-thread.js runs as a worker thread');
const port = parentPort;
port.on('message', ({ id, chunks, npy, withFingerprint }: ParseTask) => {
  try {
    // The blob too: encoding 16 MB of numbers on the event loop took up to 70 ms (fresh pages).
    const outcome = npy
      ? prepareNpyBody(
          Object.fromEntries(Object.entries(npy.files).map(([name, parts]) => [name, join(parts)])),
          npy.json,
          withFingerprint,
          true,
        )
      : prepareSolveBody(join(chunks), withFingerprint, true);
    port.postMessage(
      { id, outcome } satisfies ParseReply,
      outcome.ok ? transferList(outcome.parsed, outcome.blob) : [],
    );
  } catch (error) {
    // Bad input is an outcome; an exception is a bug: reported as one (500), and the thread goes on.
    const failed = error instanceof Error ? error.message : String(error);
    port.postMessage({ id, failed } satisfies ParseReply);
  }
});
port.postMessage({ ready: true } satisfies ParseReply);
