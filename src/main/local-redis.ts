/**
 * A private redis-server on a free loopback port, with no persistence: what `npm start` runs when no Redis
 * answers, and what the integration tests run so that they never touch a shared instance.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

export interface LocalRedis {
  url: string;
  port: number;
  /** Idempotent: stops the server and waits for it to exit. */
  stop(): Promise<void>;
}

export class RedisServerMissingError extends Error {
  constructor(binary: string) {
    super(
      `no Redis answers and '${binary}' is not on the PATH: install Redis (e.g. 'apt-get install redis-server' ` +
        "or 'brew install redis'), set REDIS_URL to a running server, or run 'docker compose up'",
    );
    this.name = 'RedisServerMissingError';
  }
}

/** A port that was free a moment ago (the kernel picks it; redis-server takes it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startLocalRedis(binary = 'redis-server', timeoutMs = 10_000): Promise<LocalRedis> {
  const port = await freePort();
  const child = spawn(
    binary,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory-policy',
      'noeviction',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await waitUntilReady(child, binary, timeoutMs);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
    return stopped;
  };
  return { url: `redis://127.0.0.1:${port}`, port, stop };
}

/** Resolves once `child` (a redis-server) says it accepts connections; its pipes are then drained. */
export function waitUntilReady(child: ChildProcess, binary: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server did not start within ${timeoutMs} ms: ${output.trim().slice(-500)}`));
    }, timeoutMs);
    const done = (error?: Error): void => {
      clearTimeout(timer);
      child.stdout?.removeAllListeners('data');
      child.removeAllListeners('error');
      child.removeAllListeners('exit');
      // Keep draining the pipes so a chatty server never blocks on a full buffer.
      child.stdout?.resume();
      child.stderr?.resume();
      if (error) reject(error);
      else resolve();
    };
    child.on('error', (error: NodeJS.ErrnoException) =>
      done(error.code === 'ENOENT' ? new RedisServerMissingError(binary) : error),
    );
    child.on('exit', (code) =>
      done(new Error(`redis-server exited with code ${code}: ${output.trim().slice(-500)}`)),
    );
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) done();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
  });
}
