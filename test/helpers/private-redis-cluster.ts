/**
 * A real Redis Cluster on loopback for the tests and the scale benchmark: three masters (no replicas), each
 * a `redis-server --cluster-enabled yes` on a free port below 55535 (its cluster bus is the port + 10000),
 * joined with `redis-cli --cluster create`, ready once every node reports `cluster_state:ok`. With
 * `persistent` each node keeps an append-only file, so `stop(i)` and `start(i)` (same port, directory and
 * nodes file) bring a master back with its data and its slots. test/helpers/redis-cluster.ts gives it the
 * tests' names; the scale benchmark imports it directly (tsconfig.bench.json compiles it to dist-bench/).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitUntilReady } from '#levinv/main/local-redis.js';

const run = promisify(execFile);

export interface PrivateRedisCluster {
  /** `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,...` (every node) */
  url: string;
  /** the masters' ports as created, then (with `replicas`) the replicas' */
  ports: number[];
  /** the running servers' process ids (none once closed) */
  pids(): number[];
  /** Shuts the node at `ports[index]` down (SIGTERM: the AOF is flushed) and waits for it to exit. */
  stop(index: number): Promise<void>;
  /** Kills the node at `ports[index]` (SIGKILL: a crash) and waits for it to exit. */
  kill(index: number): Promise<void>;
  /** Starts the node at `ports[index]` again on its port, directory and nodes file. */
  start(index: number): Promise<void>;
  /** Idempotent: kills the servers and removes their directories. */
  close(): Promise<void>;
}

const canListen = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/** `count` ports in [20000, 45000) whose bus ports (+10000) are free too. */
async function freeClusterPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let tries = 0; ports.length < count; tries++) {
    if (tries > 200) throw new Error('no free ports for a Redis Cluster');
    const port = 20000 + Math.floor(Math.random() * 25000);
    if (ports.includes(port) || ports.includes(port + 10000) || ports.includes(port - 10000)) continue;
    if ((await canListen(port)) && (await canListen(port + 10000))) ports.push(port);
  }
  return ports;
}

export interface PrivateRedisClusterOptions {
  /** append-only persistence (each node its own AOF directory), so a restarted node keeps its data */
  persistent?: boolean;
  /** cluster-node-timeout (default 5000): how long before a silent node is marked failing */
  nodeTimeoutMs?: number;
  /** replicas per master (default 0); with 1, a master that fails is replaced by its replica */
  replicas?: number;
}

function startNode(port: number, dir: string, options: PrivateRedisClusterOptions): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      `nodes-${port}.conf`,
      '--cluster-node-timeout',
      String(options.nodeTimeoutMs ?? 5000),
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      options.persistent ? 'yes' : 'no',
      '--appenddirname',
      `appendonly-${port}`,
      '--maxmemory-policy',
      'noeviction',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return waitUntilReady(child, 'redis-server', 10_000).then(() => child);
}

export const cli = async (port: number, ...args: string[]): Promise<string> =>
  (await run('redis-cli', ['-p', String(port), ...args])).stdout;

export async function privateRedisCluster(
  options: PrivateRedisClusterOptions = {},
): Promise<PrivateRedisCluster> {
  const replicas = options.replicas ?? 0;
  const ports = await freeClusterPorts(3 * (1 + replicas));
  const dir = mkdtempSync(join(tmpdir(), 'levinv-cluster-'));
  const nodes: ChildProcess[] = [];
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      await Promise.all(
        nodes.map(async (child) => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = once(child, 'exit');
          child.kill('SIGKILL');
          await exited;
        }),
      );
      rmSync(dir, { recursive: true, force: true });
    })();
    return closed;
  };
  try {
    for (const port of ports) nodes.push(await startNode(port, dir, options));
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ]);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const states = await Promise.all(ports.map((p) => cli(p, 'cluster', 'info')));
      // replicas: every one attached to its master and in sync
      const synced =
        replicas === 0 ||
        (await Promise.all(ports.map((p) => cli(p, 'info', 'replication')))).every(
          (info) => !/role:slave/.test(info) || /master_link_status:up/.test(info),
        );
      if (synced && states.every((s) => /cluster_state:ok/.test(s))) break;
      if (Date.now() > deadline) throw new Error(`the cluster did not come up: ${states.join(' | ')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    await close();
    throw error;
  }
  const end = async (index: number, signal: NodeJS.Signals): Promise<void> => {
    const child = nodes[index];
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  };
  const stop = (index: number) => end(index, 'SIGTERM');
  const kill = (index: number) => end(index, 'SIGKILL');
  const start = async (index: number): Promise<void> => {
    nodes[index] = await startNode(ports[index], dir, options);
  };
  return {
    url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`,
    ports,
    stop,
    kill,
    start,
    pids: () =>
      nodes
        .filter((child) => child.exitCode === null && child.signalCode === null && child.pid !== undefined)
        .map((child) => child.pid!),
    close,
  };
}

/** The number of keys on the node at `port` whose names start with `prefix` (SCAN, that node only). */
export async function countKeysOnNode(port: number, prefix: string): Promise<number> {
  const out = await cli(port, '--scan', '--pattern', `${prefix}*`);
  return out.split('\n').filter((line) => line.length > 0).length;
}
