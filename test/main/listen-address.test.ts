/**
 * Where the entry points listen: loopback unless HOST says otherwise (an open service reachable from the
 * network by default was the danger), and the start-up line says which. Real processes, real sockets: a
 * server bound to 127.0.0.1 refuses a connection to 127.0.0.2 (also loopback on Linux, but another
 * address), and to this machine's own non-loopback address; one bound to 0.0.0.0 takes both.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { OPEN_SERVICE_WARNING } from '../../src/main/runtime.js';
import { type LogLine, launchEntry } from '../helpers/entry-points.js';
import { redisForFile, uniquePrefix } from '../helpers/redis.js';

const redis = redisForFile();

const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode !== null) continue;
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
});

/** Starts an entry point with exactly `env` (no HOST unless given) and resolves with its log so far. */
async function launch(name: string, env: Record<string, string>): Promise<{ port: number; logs: LogLine[] }> {
  const service = launchEntry(name, { REDIS_URL: redis.url, KEY_PREFIX: uniquePrefix(name), ...env });
  children.push(service.child);
  const url = await service.listening;
  return { port: Number(new URL(url).port), logs: service.logs };
}

/** 'connected', or the error code of a connection to host:port. */
function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** This machine's non-loopback IPv4 addresses (none in some sandboxes). */
const externalAddresses = Object.values(networkInterfaces())
  .flat()
  .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
  .map((a) => a!.address);

describe('the listen address', () => {
  it('npm start without API_KEYS and without HOST listens on 127.0.0.1 only, and says so', async () => {
    const { port, logs } = await launch('start', {});
    expect(await tryConnect('127.0.0.1', port)).toBe('connected');
    expect(await tryConnect('127.0.0.2', port)).toBe('ECONNREFUSED');
    for (const address of externalAddresses) expect(await tryConnect(address, port)).toBe('ECONNREFUSED');

    const listening = logs.find((line) => /listening/.test(line.msg) && line.url)!;
    expect(listening.address).toBe('127.0.0.1');
    expect(listening.msg).toContain('loopback only: set HOST');
    // still open to whoever is on this machine: the warning stays
    expect(logs.filter((line) => line.msg === OPEN_SERVICE_WARNING)).toHaveLength(1);
  });

  it('with API keys and without HOST it listens on loopback too', async () => {
    const { port, logs } = await launch('api', { API_KEYS: 'alice:alice-secret-0123456789' });
    expect(await tryConnect('127.0.0.2', port)).toBe('ECONNREFUSED');
    expect(logs.find((line) => /listening/.test(line.msg) && line.url)!.address).toBe('127.0.0.1');
  });

  it('HOST=0.0.0.0 listens on every interface, and says so', async () => {
    const { port, logs } = await launch('api', { HOST: '0.0.0.0' });
    const listening = logs.find((line) => /listening/.test(line.msg) && line.url)!;
    expect(listening.address).toBe('0.0.0.0');
    expect(listening.msg).toContain('on every interface');
    expect(listening.msg).not.toContain('loopback');
    expect(await tryConnect('127.0.0.2', port)).toBe('connected');
    for (const address of externalAddresses) expect(await tryConnect(address, port)).toBe('connected');
  });
});
