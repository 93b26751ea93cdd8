/**
 * API keys from the environment: API_KEYS (`name:secret,name:secret`) and API_KEYS_FILE (one `name:secret`
 * a line; blank lines and '#' comments ignored). A bad list is a ConfigError naming the variable (and the
 * entry or line), never the secret.
 */
import { readFileSync } from 'node:fs';
import type { AuthOptions } from '../api/auth.js';
import { type Config, ConfigError, MIN_SECRET_LENGTH, SECRET_PATTERN } from './config.js';

/** A key's name is the owner of its jobs: it appears in logs and in job records. */
const NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

interface Entry {
  /** where it came from, for messages: `entry 2` or `line 7` */
  where: string;
  text: string;
}

function invalid(variable: string, where: string, message: string): ConfigError {
  return new ConfigError(`invalid environment variable ${variable}: ${where}: ${message}`);
}

/** Adds each `name:secret` entry to `into` (name -> secret), checking it against the ones already there. */
function addEntries(
  variable: string,
  entries: Entry[],
  into: Map<string, string>,
  secrets: Set<string>,
): void {
  for (const { where, text } of entries) {
    const colon = text.indexOf(':');
    if (colon < 0) throw invalid(variable, where, 'expected name:secret');
    const name = text.slice(0, colon).trim();
    const secret = text.slice(colon + 1).trim();
    if (name === '') throw invalid(variable, where, 'empty key name');
    if (!NAME_PATTERN.test(name)) {
      throw invalid(variable, where, `key name "${name}": expected 1 to 64 letters, digits, ".", "_" or "-"`);
    }
    if (secret === '') throw invalid(variable, where, `key "${name}" has an empty secret`);
    if (secret.length < MIN_SECRET_LENGTH) {
      throw invalid(
        variable,
        where,
        `the secret of key "${name}" is shorter than ${MIN_SECRET_LENGTH} characters`,
      );
    }
    if (!SECRET_PATTERN.test(secret)) {
      throw invalid(variable, where, `the secret of key "${name}" has characters other than visible ASCII`);
    }
    if (into.has(name)) throw invalid(variable, where, `duplicate key name "${name}"`);
    if (secrets.has(secret)) throw invalid(variable, where, `key "${name}" reuses the secret of another key`);
    into.set(name, secret);
    secrets.add(secret);
  }
}

/** API_KEYS's entries: comma-separated; empty entries (a trailing comma) are ignored. */
export function apiKeyListEntries(list: string): Entry[] {
  return list
    .split(',')
    .map((text, i) => ({ where: `entry ${i + 1}`, text: text.trim() }))
    .filter((entry) => entry.text !== '');
}

/** API_KEYS_FILE's entries: one a line; blank lines and lines starting with '#' are ignored. */
export function apiKeyFileEntries(text: string): Entry[] {
  return text
    .split(/\r?\n/)
    .map((line, i) => ({ where: `line ${i + 1}`, text: line.trim() }))
    .filter((entry) => entry.text !== '' && !entry.text.startsWith('#'));
}

/**
 * The keys of API_KEYS and API_KEYS_FILE together (names and secrets unique across both), and METRICS_TOKEN.
 * Undefined when none of them is set: the service is open.
 */
export function authFromConfig(
  config: Pick<Config, 'API_KEYS' | 'API_KEYS_FILE' | 'METRICS_TOKEN'>,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): AuthOptions | undefined {
  const keys = new Map<string, string>();
  const secrets = new Set<string>();
  if (config.API_KEYS !== undefined) {
    const entries = apiKeyListEntries(config.API_KEYS);
    if (entries.length === 0) throw invalid('API_KEYS', 'the list', 'no name:secret pair');
    addEntries('API_KEYS', entries, keys, secrets);
  }
  if (config.API_KEYS_FILE !== undefined) {
    const path = config.API_KEYS_FILE;
    let text: string;
    try {
      text = readFile(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new ConfigError(`invalid environment variable API_KEYS_FILE="${path}": cannot read it (${code})`);
    }
    const entries = apiKeyFileEntries(text);
    if (entries.length === 0) throw invalid('API_KEYS_FILE', path, 'no name:secret line');
    addEntries('API_KEYS_FILE', entries, keys, secrets);
  }
  if (keys.size === 0 && config.METRICS_TOKEN === undefined) return undefined;
  return { keys, ...(config.METRICS_TOKEN === undefined ? {} : { metricsToken: config.METRICS_TOKEN }) };
}
