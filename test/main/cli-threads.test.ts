/** SOLVER_THREADS as the built `levinv` program reads it (the environment is read by the entry point only). */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { generateProblem } from '../../src/problem/generate.js';

const CLI = fileURLToPath(new URL('../../dist/main/cli.js', import.meta.url));

function solveWith(env: Record<string, string>, input: string) {
  return spawnSync(process.execPath, [CLI, 'solve', '-'], {
    input,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('levinv solve and SOLVER_THREADS', () => {
  const problem = JSON.stringify(generateProblem({ n: 6000, d: 10, seed: 5 }));

  it('runs on the threads asked for, with the one-thread x to 1e-12', () => {
    const one = solveWith({ SOLVER_THREADS: '1' }, problem);
    const two = solveWith({ SOLVER_THREADS: '2' }, problem);
    expect(one.status).toBe(0);
    expect(two.status).toBe(0);
    const a = JSON.parse(one.stdout);
    const b = JSON.parse(two.stdout);
    expect(a.timings.threads).toBe(1);
    expect(b.timings.threads).toBe(2);
    const diff = Math.max(...a.x.map((v: number, i: number) => Math.abs(v - b.x[i])));
    expect(diff / Math.max(...a.x.map(Math.abs))).toBeLessThan(1e-12);
  });

  it.each(['0', '65', 'all'])('SOLVER_THREADS=%s: one line naming the variable, exit 78', (value) => {
    const run = solveWith({ SOLVER_THREADS: value }, problem);
    expect(run.status).toBe(78);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^levinv: invalid environment variable SOLVER_THREADS: .+\n$/);
  });
});
