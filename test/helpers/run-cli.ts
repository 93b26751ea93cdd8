/** Runs the CLI in-process with in-memory streams and collects what it wrote. */
import { PassThrough } from 'node:stream';
import { runCli } from '../../src/main/cli.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCliCaptured(
  argv: string[],
  options: { stdin?: string; tty?: boolean } = {},
): Promise<CliRun> {
  const stdin = new PassThrough();
  stdin.end(options.stdin ?? '');
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const code = await runCli(argv, { stdin, stdout, stderr, stderrIsTTY: options.tty ?? false });
  // Let the PassThroughs deliver what was written.
  await new Promise((done) => setImmediate(done));
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}
