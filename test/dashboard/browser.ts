/**
 * What the dashboard tests need around a real browser: Debian's chromium driven by playwright-core (a
 * fresh temporary profile each launch), the service as real processes (dist/main/*.js, so the page is
 * served as `npm start` serves it), and screenshots kept in test-results/dashboard/ (git-ignored) and
 * copied to DASHBOARD_SHOTS_DIR when that is set.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const WEB_INDEX = fileURLToPath(new URL('../../dist/web/index.html', import.meta.url));
const SHOTS = fileURLToPath(new URL('../../test-results/dashboard/', import.meta.url));

/**
 * What is missing to run the browser tests, said so that the reader knows what to do; undefined when
 * nothing is. The tests fail with it (they never skip).
 */
export function missingPrerequisite(): string | undefined {
  if (!existsSync(CHROMIUM)) {
    return `${CHROMIUM} is missing: the dashboard tests need Debian's chromium (apt-get install -y chromium; .ci/run does it)`;
  }
  if (!existsSync(WEB_INDEX)) return `${WEB_INDEX} is missing: run \`npm run build\` first`;
  return undefined;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 60_000,
  });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SHOTS, { recursive: true });
  const file = join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  const copyTo = process.env.DASHBOARD_SHOTS_DIR;
  if (copyTo) {
    mkdirSync(copyTo, { recursive: true });
    copyFileSync(file, join(copyTo, `${name}.png`));
  }
  return file;
}

export interface Service {
  url: string;
  child: ChildProcess;
  stderr(): string;
  stop(): Promise<void>;
}

/** A compiled entry point (start, api, worker) with only `env`; resolves once it is up. */
export async function launchService(
  name: string,
  env: Record<string, string>,
  waitFor = /^(levinv|API) listening/,
): Promise<Service> {
  const entry = fileURLToPath(new URL(`../../dist/main/${name}.js`, import.meta.url));
  const child = spawn(process.execPath, [entry], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = once(child, 'exit');
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        let parsed: { msg?: string; url?: string };
        try {
          parsed = JSON.parse(line);
        } catch {
          continue;
        }
        if (parsed.msg && waitFor.test(parsed.msg)) resolve(parsed.url ?? '');
      }
    });
    void exited.then(([code]) => reject(new Error(`${name} exited ${code}: ${stderr}`)));
    setTimeout(() => reject(new Error(`${name} did not start in 60 s: ${stderr}`)), 60_000).unref();
  });
  return {
    url,
    child,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
