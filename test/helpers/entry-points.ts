/** The service's entry points (dist/main/start.js, api.js) as real processes, followed through their JSON log. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const entryFile = (name: string): string =>
  fileURLToPath(new URL(`../../dist/main/${name}.js`, import.meta.url));

export interface LogLine {
  msg: string;
  level?: number;
  url?: string;
  address?: string;
  [key: string]: unknown;
}

/**
 * Starts an entry point with exactly `env` (plus PATH and PORT 0; no HOST unless given): `listening`
 * resolves with its URL once it logs that it listens, and rejects if it exits first.
 */
export function launchEntry(name: string, env: Record<string, string>) {
  const child = spawn(process.execPath, [entryFile(name)], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  let stderr = '';
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const listening = new Promise<string>((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = JSON.parse(buffer.slice(0, nl)) as LogLine;
        buffer = buffer.slice(nl + 1);
        logs.push(line);
        if (/listening/.test(line.msg) && line.url) resolve(line.url);
      }
    });
    void exited.then((code) => reject(new Error(`${name} exited ${code}: ${stderr}`)));
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  // A launch that is expected to fail never listens; its rejection is then not an error of the test.
  listening.catch(() => undefined);
  return { child, logs, exited, listening, stderr: () => stderr };
}
