/**
 * A client on a test host (test/helpers/netns.ts): one node process in the host's namespace that makes the
 * HTTP requests and Redis commands a test asks for, so that they cross the namespaces' network. One JSON
 * line per request on its stdin, one per answer on its stdout.
 */
import { spawnCommand } from './processes.js';

const DRIVER = `
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
const redis = new Map();
const connection = (url) => {
  if (!redis.has(url)) redis.set(url, new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2000 }));
  return redis.get(url);
};
async function run(req) {
  if (req.op === 'fetch') {
    const response = await fetch(req.url, { method: req.method ?? 'GET', headers: req.headers, body: req.body });
    const text = await response.text();
    let json = null;
    try { json = JSON.parse(text); } catch {}
    return { status: response.status, json, text: json === null ? text : undefined };
  }
  if (req.op === 'redis') return connection(req.url).call(...req.args);
  throw new Error('unknown op ' + req.op);
}
for await (const line of createInterface({ input: process.stdin })) {
  const req = JSON.parse(line);
  run(req).then(
    (result) => process.stdout.write(JSON.stringify({ id: req.id, result }) + '\\n'),
    (error) => process.stdout.write(JSON.stringify({ id: req.id, error: String(error?.message ?? error) }) + '\\n'),
  );
}
for (const r of redis.values()) r.disconnect();
`;

export interface HttpAnswer<T = unknown> {
  status: number;
  json: T;
  text?: string;
}

export interface NsClient {
  fetch<T = unknown>(
    url: string,
    init?: { method?: string; headers?: Record<string, string>; body?: string },
  ): Promise<HttpAnswer<T>>;
  /** one command (`redis.call(...args)`) on a connection to `url` kept for the client's life */
  redis<T = unknown>(url: string, ...args: (string | number)[]): Promise<T>;
  close(): Promise<void>;
}

export function nsClient(ns: string, timeoutMs = 20_000): NsClient {
  const proc = spawnCommand(
    'ip',
    ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', DRIVER],
    {},
    { stdin: 'pipe' },
  );
  proc.child.stdin!.on('error', () => undefined);
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let next = 0;
  let buffer = '';
  proc.child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      const answer = JSON.parse(line) as { id: number; result?: unknown; error?: string };
      const waiter = pending.get(answer.id);
      pending.delete(answer.id);
      if (answer.error !== undefined) waiter?.reject(new Error(answer.error));
      else waiter?.resolve(answer.result);
    }
  });
  void proc.exited.then((code) => {
    for (const waiter of pending.values())
      waiter.reject(new Error(`the client exited (${code}): ${proc.err()}`));
    pending.clear();
  });
  const ask = (request: Record<string, unknown>): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`no answer in ${timeoutMs} ms to ${JSON.stringify(request).slice(0, 200)}`));
      }, timeoutMs);
      pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      proc.child.stdin!.write(`${JSON.stringify({ id, ...request })}\n`);
    });
  return {
    fetch: (url, init = {}) => ask({ op: 'fetch', url, ...init }) as Promise<HttpAnswer<never>>,
    redis: (url, ...args) => ask({ op: 'redis', url, args }) as Promise<never>,
    close: () => proc.kill('SIGKILL'),
  };
}
