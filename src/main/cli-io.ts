/** Reading problem documents from a file or stdin, and writing results, with CLI-grade error messages. */
import { statSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { encodeNpy } from '../problem/npy.js';
import { CliError, EXIT_CANT_CREATE, EXIT_DATA, EXIT_NO_INPUT } from './cli-errors.js';

const FS_REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'a parent is not a directory',
  ENOSPC: 'no space left on device',
};

function fsReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code !== undefined && code in FS_REASONS) return FS_REASONS[code];
  return error instanceof Error ? error.message : String(error);
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads and parses JSON from `source` (a path, or `-` for stdin). */
export async function readJson(source: string, stdin: NodeJS.ReadableStream): Promise<unknown> {
  const name = source === '-' ? 'stdin' : source;
  let text: string;
  try {
    text = source === '-' ? await readStream(stdin) : await readFile(source, 'utf8');
  } catch (error) {
    throw new CliError(EXIT_NO_INPUT, `cannot read ${name}: ${fsReason(error)}`);
  }
  try {
    // Editors on Windows save a BOM that JSON.parse rejects.
    return JSON.parse(text.startsWith('\uFEFF') ? text.slice(1) : text);
  } catch (error) {
    const reason = text.trim() === '' ? 'empty input' : (error as Error).message;
    throw new CliError(EXIT_DATA, `${name}: malformed JSON: ${reason}`);
  }
}

export async function writeText(path: string, text: string): Promise<void> {
  try {
    await writeFile(path, text, 'utf8');
  } catch (error) {
    throw new CliError(EXIT_CANT_CREATE, `cannot write ${path}: ${fsReason(error)}`);
  }
}

/** A generated problem's arrays as `DIR/<name>.npy` (float64; A as n x d), for a binary upload. */
export async function writeNpyProblem(dir: string, problem: object): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    for (const [name, value] of Object.entries(problem as Record<string, number[] | number[][]>)) {
      const rows = value.length > 0 && Array.isArray(value[0]) ? (value as number[][]) : null;
      const shape = rows ? [rows.length, rows[0].length] : [value.length];
      const data = rows ? Float64Array.from(rows.flat()) : Float64Array.from(value as number[]);
      await writeFile(join(dir, `${name}.npy`), encodeNpy(data, shape));
    }
  } catch (error) {
    throw new CliError(EXIT_CANT_CREATE, `cannot write ${dir}: ${fsReason(error)}`);
  }
}

export const isDirectory = (path: string): boolean =>
  statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;

/**
 * A binary upload's form: each .npy file as the part named by its file name (`A.npy` is A), a directory's
 * .npy files likewise, and the rest of the problem as the `json` part.
 */
export async function npyForm(paths: string[], json: string | undefined): Promise<FormData> {
  const files: string[] = [];
  for (const path of paths) {
    if (!isDirectory(path)) {
      files.push(path);
      continue;
    }
    const names = (await readdir(path)).filter((name) => name.endsWith('.npy')).sort();
    if (names.length === 0) throw new CliError(EXIT_NO_INPUT, `${path}: no .npy files in it`);
    files.push(...names.map((name) => join(path, name)));
  }
  const form = new FormData();
  for (const file of files) {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      throw new CliError(EXIT_NO_INPUT, `cannot read ${file}: ${fsReason(error)}`);
    }
    form.append(basename(file, '.npy'), new Blob([bytes]), basename(file));
  }
  if (json !== undefined) form.append('json', json);
  return form;
}
