// The cluster end-to-end of `npm run container:check` (scripts/container-check.sh step 2): the API and two
// worker containers (the image built by step 1) against a three-master Redis Cluster on loopback. Plain
// Node 20 (fetch, child_process), no dependencies: it runs on the host against the containers.
//   API=http://127.0.0.1:43000 PORTS=47001,47002,47003 PREFIX=e2e IMAGE=levinv:local node scripts/cluster-e2e.mjs
// Checks: jobs solved to their known answer; their data spread over all three masters, their states and
// BullMQ's keys on one; iterates, SSE to `done`, list paging, an idempotent resubmit, cancel (queued and
// running), delete; a worker container SIGKILLed mid-solve, its job resumed by the other. Exit 1 on a miss.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

const API = process.env.API ?? 'http://127.0.0.1:43000';
const PORTS = (process.env.PORTS ?? '').split(',').filter(Boolean).map(Number);
const PREFIX = process.env.PREFIX ?? 'e2e';
const IMAGE = process.env.IMAGE ?? 'levinv:local';
const WORKERS = (process.env.WORKERS ?? 'levinv-w1,levinv-w2').split(',');
assert.equal(PORTS.length, 3, 'PORTS: the three masters');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const say = (text) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${text}`);
const cli = (port, ...args) => execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' });
const keysOn = (port, pattern) => cli(port, '--scan', '--pattern', pattern).split('\n').filter(Boolean);

async function http(method, path, body, headers = {}) {
  let res;
  // The API's rate limit (50 requests/s from one address by default) is not under test here: a 429 is
  // waited out as its Retry-After says, as a client should (the jobs finish fast enough now for the polls
  // to reach it).
  for (let attempt = 1; ; attempt++) {
    res = await fetch(`${API}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status !== 429 || attempt === 5) break;
    await res.arrayBuffer();
    await sleep(1000 * Math.max(1, Number(res.headers.get('retry-after')) || 1));
  }
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json, text };
}

async function until(what, check, ms = 60_000) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(100);
  }
}

/** A generated problem (with its answer xStar), made by the image's own CLI. */
function generate(n, d, seed) {
  const out = execFileSync(
    'podman',
    [
      'run',
      '--rm',
      '--network=none',
      IMAGE,
      'node',
      'dist/main/cli.js',
      'generate',
      '--n',
      `${n}`,
      '--d',
      `${d}`,
      '--seed',
      `${seed}`,
    ],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  return JSON.parse(out);
}

async function submit(problem, options = {}, headers = {}) {
  const res = await http('POST', '/solve', { ...problem, options }, headers);
  assert.ok(res.status === 202 || res.status === 200, `POST /solve: ${res.status} ${res.text.slice(0, 300)}`);
  return res.json;
}

const job = async (id) => (await http('GET', `/jobs/${id}`)).json;
const finished = (id) => until(`job ${id} done`, async () => ((await job(id))?.done ? job(id) : null));
/** Gradient descent with a fixed step and no tolerance: runs exactly `iterations` iterations. */
const longGd = (iterations) => ({
  lineSearch: 'none',
  stepSize: 1e-3,
  tolerance: 0,
  maxIterations: iterations,
  record: { every: 1, includeX: false },
});

await until(
  'the API ready',
  async () => (await http('GET', '/readyz').catch(() => ({ status: 0 }))).status === 200,
);
say('API ready on the cluster');

// 1. jobs solved to their known answer
const small = [];
for (let i = 0; i < 4; i++) small.push(generate(200, 8, 100 + i));
const ids = [];
for (let i = 0; i < 15; i++) ids.push((await submit(small[i % small.length])).id);
for (const id of ids) {
  const done = await finished(id);
  assert.equal(done.state, 'succeeded', JSON.stringify(done).slice(0, 300));
  assert.ok(done.result.relError < 1e-8, `relError ${done.result.relError}`);
}
say(`${ids.length} jobs succeeded, relError < 1e-8`);

// 2. where the keys are: data on every master, states and BullMQ's keys on one (the same)
const data = PORTS.map((p) => keysOn(p, `${PREFIX}:job:{*`).length);
const states = PORTS.map((p) => keysOn(p, `${PREFIX}:jobs:{bullmq}:job:*`).length);
const bull = PORTS.map((p) => keysOn(p, `${PREFIX}:{bullmq}:*`).length);
assert.ok(
  data.every((c) => c > 0),
  `data keys per master: ${data}`,
);
assert.equal(states.filter((c) => c > 0).length, 1, `state hashes per master: ${states}`);
assert.equal(
  states.findIndex((c) => c > 0),
  bull.findIndex((c) => c > 0),
  `BullMQ per master: ${bull}`,
);
say(
  `data keys per master ${data.join(' / ')}; state hashes ${states.join(' / ')}; BullMQ keys ${bull.join(' / ')}`,
);

// 3. iterates, SSE, list paging, an idempotent resubmit
const one = await job(ids[0]);
const its = await http('GET', `/jobs/${ids[0]}/iterates?limit=1000`);
assert.equal(its.status, 200);
assert.equal(its.json.items.length, one.iterates.recorded);
const sse = await http('GET', `/jobs/${ids[0]}/events`);
assert.equal(sse.status, 200);
assert.match(sse.text, /event: done/);
const seen = new Set();
let cursor = null;
do {
  const page = await http('GET', `/jobs?limit=4${cursor ? `&cursor=${cursor}` : ''}`);
  assert.equal(page.status, 200);
  for (const item of page.json.items) seen.add(item.id);
  cursor = page.json.nextCursor;
} while (cursor);
for (const id of ids) assert.ok(seen.has(id), `list misses ${id}`);
const key = { 'idempotency-key': `e2e-${Date.now()}` };
const first = await submit(small[0], {}, key);
const again = await http('POST', '/solve', { ...small[0], options: {} }, key);
assert.equal(again.status, 200);
assert.equal(again.json.id, first.id);
say(
  `iterates ${its.json.items.length}, SSE to done, ${seen.size} jobs listed in pages of 4, resubmit -> same job`,
);

// 4. a worker container SIGKILLed mid-solve: the other resumes its job from the checkpoint
const big = { ...generate(2000, 10, 7), method: 'gd' };
const victimJob = (await submit(big, longGd(1500))).id;
const holder = await until(
  'the long job running with a checkpoint',
  async () => {
    const s = await job(victimJob);
    const at = Number(
      cli(PORTS[0], '-c', 'hget', `${PREFIX}:job:{${victimJob}}:run`, 'checkpointIteration').trim() || -1,
    );
    const h = cli(PORTS[0], '-c', 'hget', `${PREFIX}:jobs:{bullmq}:job:${victimJob}`, 'holder').trim();
    return s.state === 'running' && at >= 200 && h ? h : null;
  },
  60_000,
);
const victim = WORKERS.find((w) => holder.startsWith(`${w}:`));
assert.ok(victim, `holder ${holder}`);
execFileSync('podman', ['kill', '--signal', 'KILL', victim]);
say(`killed ${victim} (holding the long job)`);
const resumed = await finished(victimJob);
assert.equal(resumed.state, 'succeeded');
assert.ok(resumed.resumes >= 1, `resumes ${resumed.resumes}`);
assert.equal(resumed.iterates.recorded, resumed.result.iterations + 1);
say(
  `the other worker resumed it: succeeded, resumes ${resumed.resumes}, ${resumed.iterates.recorded} iterates`,
);

// 5. cancel (running and queued: one worker left, concurrency 1) and delete
const running = (await submit(big, longGd(100000))).id;
const queued = (await submit(big, longGd(100000))).id;
await until('one running', async () => (await job(running)).state === 'running');
assert.equal((await job(queued)).state, 'queued');
const q = await http('POST', `/jobs/${queued}/cancel`);
assert.equal(q.json.state, 'cancelled');
await http('POST', `/jobs/${running}/cancel`);
const stopped = await finished(running);
assert.equal(stopped.state, 'cancelled');
assert.equal((await http('DELETE', `/jobs/${ids[1]}`)).status, 204);
assert.equal((await http('GET', `/jobs/${ids[1]}`)).status, 404);
assert.equal((await http('DELETE', `/jobs/${ids[1]}`)).status, 404);
say('cancelled a queued and a running job; deleted a finished one');
say('cluster end-to-end: OK');
