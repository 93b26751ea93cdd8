/**
 * How a running solve hears that it was cancelled. Pushed: the cancel script publishes on the job's cancel
 * channel, which this process's one subscriber (wakeups.ts) follows from `followAfterMs` into the run on,
 * reading the flag once the subscription is in place (a cancel made before then was announced to nobody).
 * Also in the reply of each progress write (progress-writer.ts). A slow safety read of the flag every
 * `pollMs` stays only for a publish missed while the subscriber reconnected.
 */
import type { Logger } from 'pino';
import type { JobStore } from '../store.js';
import type { Follow, Wakeups } from '../wakeups.js';

export interface CancelWatchOptions {
  store: JobStore;
  jobId: string;
  /** the job's cancel channel (keys.data(id).cancel) */
  channel: string;
  /** null: no push (Redis below 7, or turned off), only the progress replies and the safety read */
  wakeups: Wakeups | null;
  followAfterMs: number;
  pollMs: number;
  /** true once the solve is stopping for any reason: the watch then reads nothing */
  stopped: () => boolean;
  onCancel: () => void;
  log: Logger;
}

export interface CancelWatch {
  /** Idempotent: unsubscribe and stop the timers. */
  stop(): void;
}

export function watchCancel(o: CancelWatchOptions): CancelWatch {
  // One read at a time; a wake-up during a read asks for one more read after it.
  let reading = false;
  let readAgain = false;
  const check = (): void => {
    if (o.stopped()) return;
    if (reading) {
      readAgain = true;
      return;
    }
    reading = true;
    o.store
      .isCancelRequested(o.jobId)
      .then((requested) => requested && o.onCancel())
      .catch((error) => o.log.debug({ err: error }, 'cancel check failed'))
      .finally(() => {
        reading = false;
        if (readAgain) {
          readAgain = false;
          check();
        }
      });
  };
  // Most small jobs are over before followAfterMs: they are spared a subscribe, an unsubscribe and a read.
  let follow: Follow | undefined;
  const following = setTimeout(() => {
    if (o.stopped()) return;
    follow = o.wakeups?.follow(o.channel, check);
    void follow?.ready.then(check);
  }, o.followAfterMs);
  const poll = setInterval(check, o.pollMs);
  return {
    stop() {
      clearInterval(poll);
      clearTimeout(following);
      follow?.stop();
    },
  };
}
