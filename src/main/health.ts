/**
 * Container healthchecks (docker-compose.yml): the worker proves it is alive by rewriting a heartbeat file
 * (WORKER_HEALTH_FILE) while its queue runs and its Redis connection answers; the checker (healthcheck.ts)
 * looks at how old that file is. The API needs no file: the checker asks its /readyz.
 */
import { rm, stat, writeFile } from 'node:fs/promises';

/** How often the worker probes itself and rewrites the file. */
export const HEARTBEAT_INTERVAL_MS = 5_000;
/** A heartbeat older than this means unhealthy: several missed beats, not one slow probe. */
export const HEARTBEAT_MAX_AGE_MS = 20_000;

export interface Heartbeat {
  /** Stops beating and removes the file (a stopping worker is not healthy). */
  stop(): Promise<void>;
}

/**
 * Every `intervalMs` runs `probe` (never two at once) and, when it says true, writes the time to `file`.
 * A failing probe or a failing write only skips that beat: the file then ages and the check fails.
 */
export function startHeartbeat(
  file: string,
  probe: () => Promise<boolean>,
  intervalMs = HEARTBEAT_INTERVAL_MS,
): Heartbeat {
  let running: Promise<void> | undefined;
  let stopped = false;
  const beat = (): void => {
    if (running || stopped) return;
    running = (async () => {
      try {
        if ((await probe()) && !stopped) await writeFile(file, `${new Date().toISOString()}\n`);
      } catch {
        // a skipped beat
      } finally {
        running = undefined;
      }
    })();
  };
  beat();
  const timer = setInterval(beat, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
      await rm(file, { force: true });
    },
  };
}

/** Why the heartbeat file says unhealthy, or undefined when it is fresh. */
export async function staleHeartbeat(
  file: string,
  maxAgeMs = HEARTBEAT_MAX_AGE_MS,
  now = Date.now(),
): Promise<string | undefined> {
  let mtimeMs: number;
  try {
    ({ mtimeMs } = await stat(file));
  } catch {
    return `no heartbeat file ${file}`;
  }
  const age = now - mtimeMs;
  return age <= maxAgeMs
    ? undefined
    : `heartbeat ${Math.round(age / 1000)} s old (limit ${maxAgeMs / 1000} s)`;
}

/** The address a local healthcheck reaches the API at: HOST, unless it is a wildcard. */
export function readyUrl(host: string, port: number): string {
  const local = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${local.includes(':') ? `[${local}]` : local}:${port}/readyz`;
}

/** Why the API's /readyz says unhealthy, or undefined when it answers 2xx within `timeoutMs`. */
export async function notReady(url: string, timeoutMs = 4_000): Promise<string | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return response.ok ? undefined : `${url} answered ${response.status}`;
  } catch (error) {
    return `${url}: ${error instanceof Error ? error.message : String(error)}`;
  }
}
