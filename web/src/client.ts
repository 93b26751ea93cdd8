/**
 * The page's LevinvClient: every call the dashboard makes goes through levinv/client, bundled from its
 * sources (src/client/browser.ts: all of it but webhook verification), same origin. The API key, kept in
 * sessionStorage so that it dies with the tab, goes out as `Authorization: Bearer` on every request, the
 * event streams included.
 */
import { LevinvClient } from '../../src/client/browser.js';

const KEY_STORAGE = 'levinv.apiKey';

export function apiKey(): string {
  return sessionStorage.getItem(KEY_STORAGE) ?? '';
}

export function setApiKey(key: string): void {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

let current: { key: string; client: LevinvClient } | undefined;

/** The client for the tab's key as it is now (the key can change at any time: a new client then). */
export function client(): LevinvClient {
  const key = apiKey();
  if (current?.key !== key) {
    current = {
      key,
      client: new LevinvClient({
        baseUrl: location.origin,
        ...(key ? { apiKey: key } : {}),
        // a person is waiting: a 429 or 503 is tried again after its Retry-After, but never after more than 10 s
        maxRetryAfterSeconds: 10,
        // a job's stream rides out a restart of the service (about 20 s) before the page gives up on it
        maxReconnects: 20,
        reconnectDelayMs: 1000,
      }),
    };
  }
  return current.client;
}
