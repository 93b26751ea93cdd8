/** When to try a refused request again: its Retry-After (seconds or an HTTP date), capped, and abortable. */

/**
 * Milliseconds to wait before the next try: the answer's Retry-After when it has a valid one (delay-seconds
 * or an HTTP-date), else an exponential backoff from 0.5 s; at most `capMs` either way.
 */
export function retryDelayMs(
  retryAfter: string | null,
  attempt: number,
  capMs: number,
  now = Date.now(),
): number {
  let ms: number | undefined;
  if (retryAfter !== null) {
    const text = retryAfter.trim();
    if (/^\d+$/.test(text)) ms = Number(text) * 1000;
    else if (/[a-z]/i.test(text)) {
      // an HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`); Date.parse would also take "-1" as a year
      const date = Date.parse(text);
      if (Number.isFinite(date)) ms = Math.max(0, date - now);
    }
  }
  ms ??= 500 * 2 ** attempt;
  return Math.min(ms, capMs);
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
