/**
 * A redis-server that can be shut down and started again on the same port and directory (append-only
 * persistence), or that asks for a password: for the tests and the fault benchmark, which restart Redis
 * under a running service (tsconfig.bench.json compiles it to dist-bench/ for those). `npm start`'s own
 * private server is src/main/local-redis.ts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitUntilReady } from '#levinv/main/local-redis.js';

/**
 * A private redis-server a test may stop and start again on the same port: with append-only persistence in
 * a directory of its own (`persistent`), or with a password (`password`).
 */
export interface PrivateRedis {
  url: string;
  port: number;
  dir: string;
  /** the running server's process id (undefined while it is stopped) */
  pid(): number | undefined;
  start(): Promise<void>;
  /** SHUTDOWN (which writes the append-only file) and wait for the process to exit */
  shutdown(): Promise<void>;
  /** stops it and removes its directory */
  close(): Promise<void>;
}

export async function privateRedis(
  opts: { persistent?: boolean; password?: string } = {},
): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'levinv-redis-'));
  let server: ChildProcess | undefined;
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    opts.persistent ? 'yes' : 'no',
    '--maxmemory-policy',
    'noeviction',
  ];
  if (opts.password) args.push('--requirepass', opts.password);
  const cliAuth = opts.password ? ['-a', opts.password, '--no-auth-warning'] : [];
  const redis: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    pid: () => (server && server.exitCode === null && server.signalCode === null ? server.pid : undefined),
    async start() {
      const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      server = child;
      await waitUntilReady(child, 'redis-server', 10_000);
    },
    async shutdown() {
      const child = server;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      spawn('redis-cli', ['-p', String(port), ...cliAuth, 'shutdown'], { stdio: 'ignore' });
      await exited;
    },
    async close() {
      const child = server;
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await redis.start();
  return redis;
}
