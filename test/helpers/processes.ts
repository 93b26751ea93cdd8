/**
 * Real processes for tests: the compiled entry points (dist, built by `npm test` first) spawned with only
 * the environment a test passes, their output captured, and nothing left running afterwards.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const WORKER_ENTRY = fileURLToPath(new URL('../../dist/main/worker.js', import.meta.url));

export interface Spawned {
  child: ChildProcess;
  pid: number;
  /** stdout and stderr so far */
  out(): string;
  err(): string;
  exited: Promise<number | null>;
  /** SIGKILL unless it has exited; resolves once it has */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const running = new Set<Spawned>();

export function spawnNode(entry: string, env: Record<string, string>): Spawned {
  return spawnCommand(process.execPath, [entry], env);
}

/** Any program, with only PATH and `env` (e.g. `ip netns exec <ns> node ...` to run it on a test host). */
export function spawnCommand(
  command: string,
  args: string[],
  env: Record<string, string>,
  opts: { stdin?: 'ignore' | 'pipe' } = {},
): Spawned {
  const child = spawn(command, args, {
    // only what we pass: the test process may have REDIS_URL and friends set
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const spawned: Spawned = {
    child,
    pid: child.pid!,
    out: () => stdout,
    err: () => stderr,
    exited,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
      running.delete(spawned);
    },
  };
  running.add(spawned);
  exited.then(() => running.delete(spawned));
  return spawned;
}

/**
 * A compiled entry point run in a network namespace (test/helpers/netns.ts). `ip netns exec` execs node
 * in its own process, so `pid` is node's.
 */
export const spawnNodeIn = (ns: string, entry: string, env: Record<string, string>): Spawned =>
  spawnCommand('ip', ['netns', 'exec', ns, process.execPath, entry], env);

/** A worker process (dist/main/worker.js). */
export const spawnWorker = (env: Record<string, string>): Spawned => spawnNode(WORKER_ENTRY, env);

/** Waits until every worker process has logged 'worker started'; throws with their stderr otherwise. */
export async function workersStarted(workers: Spawned[], timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!workers.every((w) => logLines(w.out()).some((l) => l.msg === 'worker started'))) {
    if (Date.now() > deadline) {
      throw new Error(`the worker processes did not start: ${workers.map((w) => w.err()).join(' | ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** SIGKILLs every process spawned here that still runs (for afterEach). */
export async function killAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.kill()));
}

/** The process's pino lines, parsed (lines that are not JSON are skipped). */
export function logLines(text: string): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not a log line
    }
  }
  return lines;
}
