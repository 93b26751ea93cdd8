/**
 * The transition table (src/jobs/transitions.ts) is what the scripts do: every row is driven against a
 * real Redis (the job brought into the row's phase and situation, the event run through the job writer),
 * and must reply as listed and leave the job in the listed phase, listed in exactly the indexes of that
 * phase. Every data script runs in each phase the table gives it and changes no phase. A script file, a
 * state or a situation without its entry fails here, and so does a script that counts KEYS or ARGV or
 * touches a hash field job-record.ts does not declare.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINISHED_STATES, JOB_STATES, RUN_FIELDS, STATE_FIELDS } from '../../src/jobs/job-record.js';
import type { JobWriter } from '../../src/jobs/job-writer.js';
import { Keys } from '../../src/jobs/keys.js';
import { LUA_DIR, SCRIPT_NAMES, type ScriptName, scriptFile } from '../../src/jobs/scripts.js';
import { JobStore } from '../../src/jobs/store.js';
import {
  CHANGES,
  CONTROL_SCRIPTS,
  type ControlScript,
  checkReply,
  DATA_SCRIPTS,
  PHASES,
  type Phase,
  phaseOf,
  READ_SCRIPTS,
  TRANSITIONS,
  type Transition,
} from '../../src/jobs/transitions.js';
import { redisForFile, uniquePrefix } from '../helpers/redis.js';

const redis = redisForFile();
const TTL = 600;
const PROVISIONAL_TTL = 60;
let raw: Redis;
let keys: Keys;
let store: JobStore;
let writer: JobWriter;

beforeAll(() => {
  raw = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  keys = new Keys(uniquePrefix('state-machine'));
  store = new JobStore(raw, keys, TTL);
  writer = store.writer;
});
afterAll(async () => {
  await raw?.quit();
});

/** A job of its own owner (quotas and Idempotency-Keys do not cross rows); `token` holds it once started. */
interface TestJob {
  id: string;
  owner: string;
  idempotencyKey?: string;
}

const newJob = (): TestJob => ({ id: randomUUID(), owner: `owner-${randomUUID().slice(0, 8)}` });
const TOKEN = 'attempt-1';
const RESULT = JSON.stringify({ x: [1], iterations: 1, converged: true, reason: 'gradient-tolerance' });

function stateFields(job: TestJob): (string | number)[] {
  const fields: Record<string, string | number> = {
    id: job.id,
    owner: job.owner,
    state: 'queued',
    method: 'newton',
    n: 4,
    d: 2,
    createdAt: Date.now(),
    options: '{}',
    fingerprint: '',
    attempts: 0,
    recordLimit: 100,
  };
  if (job.idempotencyKey) fields.idempotencyKey = job.idempotencyKey;
  return Object.entries(fields).flat();
}

const admit = (job: TestJob, extra: { maxActive?: number; record?: string } = {}) =>
  writer.admit(job, {
    maxActive: extra.maxActive ?? 0,
    now: Date.now(),
    provisionalTtl: PROVISIONAL_TTL,
    idempotencyRecord: extra.record ?? '',
    replaceRecord: '',
    ttl: TTL,
    fields: stateFields(job),
  });

const create = (job: TestJob) =>
  writer.create(job.id, {
    provisionalTtl: PROVISIONAL_TTL,
    maxlen: 100,
    event: '{"state":"queued"}',
    blob: 'problem',
  });

const start = (job: TestJob, token = TOKEN, attempt = 1) =>
  writer.start(job, { now: Date.now(), ttl: TTL, token, attempt, holder: 'test', recordLimit: 100 });

const dataStart = (job: TestJob, token = TOKEN, attempt = 1) =>
  writer.dataStart(job.id, {
    token,
    ttl: TTL,
    maxlen: 100,
    attempt,
    every: 1,
    recordLimit: 100,
    inlineBytes: 0,
  });

const finish = (job: TestJob, endState: string, token = TOKEN) =>
  writer.finish(job, {
    now: Date.now(),
    ttl: TTL,
    token,
    endState,
    errorJson: endState === 'failed' ? '{"code":"INTERNAL","message":"x"}' : '',
    bucket: 'le:1',
    seconds: 0.5,
  });

const commit = (job: TestJob) => writer.commit(job, { now: Date.now(), ttl: TTL, idempotencyRecord: '' });

/**
 * Brings a new job into `phase` the way the code does: submitted (CREATE, ADMIT, CONFIRM, COMMIT),
 * started (START, DATA_START), ended (SEAL, FINISH, CLOSE). `committed: false` skips COMMIT (a worker
 * that takes the job before its submission completes).
 */
async function reach(phase: Phase, opts: { committed?: boolean; job?: TestJob } = {}): Promise<TestJob> {
  const job = opts.job ?? newJob();
  if (phase === 'absent') return job;
  await create(job);
  expect(await admit(job)).toEqual(['ok', expect.any(String)]);
  if (phase === 'provisional') return job;
  await writer.confirm(job.id, { ttl: TTL });
  if (opts.committed !== false) expect(await commit(job)).toBe('queued');
  if (phase === 'queued') return job;
  expect((await start(job))[0]).toBe('started');
  await dataStart(job);
  if (phase === 'running') return job;
  expect(await writer.seal(job.id, { token: TOKEN, ttl: TTL, result: RESULT, progress: '' })).toBe(1);
  expect(await finish(job, phase)).toBe(1);
  await writer.close(job.id, {
    ttl: TTL,
    maxlen: 100,
    endState: phase,
    stateEvent: `{"state":"${phase}"}`,
    doneEvent: '{}',
  });
  return job;
}

const phase = async (job: TestJob): Promise<Phase> => phaseOf(await store.readState(job.id));

/** The indexes (of the control slot) the job is listed in. */
async function listing(job: TestJob): Promise<string[]> {
  const k = keys.controlOf(job.id, job.owner);
  const named: [string, string][] = [
    ['all', k.all],
    ['ownerAll', k.ownerAll],
    ['ownerPending', k.ownerPending],
    ['expiry', k.expiry],
    ...JOB_STATES.flatMap((s): [string, string][] => [
      [`byState.${s}`, k.byState[s]],
      [`ownerByState.${s}`, k.ownerByState[s]],
    ]),
  ];
  const scores = await Promise.all(named.map(([, key]) => raw.zscore(key, job.id)));
  return named.filter((_, i) => scores[i] !== null).map(([name]) => name);
}

/** Where a job of `phase` is listed: nowhere when absent, as a reservation while provisional. */
function listingOf(phase: Phase): string[] {
  if (phase === 'absent') return [];
  if (phase === 'provisional') return ['ownerPending', 'expiry'];
  return ['all', 'ownerAll', 'expiry', `byState.${phase}`, `ownerByState.${phase}`];
}

const first = (reply: unknown): unknown => (Array.isArray(reply) ? reply[0] : reply);
const later = (): number => Date.now() + (TTL + PROVISIONAL_TTL) * 1000;

type Driver = (row: Transition) => Promise<{ job: TestJob; reply: unknown }>;

/** Runs the row's event on a job brought into its phase; the default for a row without a situation. */
const EVENTS: Record<ControlScript, Driver> = {
  admit: async () => {
    const job = newJob();
    await create(job);
    return { job, reply: await admit(job) };
  },
  commit: async (row) => {
    const job = await reach(row.from, { committed: false });
    return { job, reply: await commit(job) };
  },
  release: async (row) => {
    const job = await reach(row.from);
    return { job, reply: await writer.release(job, { idempotencyRecord: '' }) };
  },
  start: async (row) => {
    const job = await reach(row.from);
    return { job, reply: await start(job, 'attempt-2', 2) };
  },
  finish: async (row) => {
    const job = await reach(row.from);
    const endState = (FINISHED_STATES as readonly string[]).includes(row.to) ? row.to : 'succeeded';
    return { job, reply: await finish(job, endState) };
  },
  requeue: async (row) => {
    const job = await reach(row.from);
    return { job, reply: await writer.requeue(job, { now: Date.now(), ttl: TTL, token: TOKEN }) };
  },
  stalled: async (row) => {
    const job = await reach(row.from);
    return { job, reply: await writer.stalled(job, { now: Date.now(), ttl: TTL, attempt: 1 }) };
  },
  cancel: async (row) => {
    const job = await reach(row.from);
    return { job, reply: await writer.cancel(job, { now: Date.now(), ttl: TTL, errorJson: '{}' }) };
  },
  remove: async (row) => {
    const job = await reach(row.from);
    return { job, reply: await writer.remove(job, { owner: job.owner }) };
  },
  prune: async (row) => {
    const job = await reach(row.from);
    return { job, reply: await writer.prune(job, { now: Date.now(), ttl: TTL }) };
  },
};

/** Every situation a row names (`<event>: <when>`), and how the test makes it. */
const SITUATIONS: Record<string, Driver> = {
  'admit: the owner has maxActive jobs': async () => {
    const other = await reach('queued');
    const job = { ...newJob(), owner: other.owner };
    await create(job);
    return { job, reply: await admit(job, { maxActive: 1 }) };
  },
  'admit: its Idempotency-Key is taken': async () => {
    const key = keys.idempotency('owner', randomUUID());
    const other = { ...newJob(), idempotencyKey: key };
    await create(other);
    await admit(other, { record: JSON.stringify({ id: other.id, fingerprint: '' }) });
    const job = { ...newJob(), owner: other.owner, idempotencyKey: key };
    await create(job);
    return { job, reply: await admit(job, { record: JSON.stringify({ id: job.id, fingerprint: '' }) }) };
  },
  'commit: completed twice (retries)': async () => {
    const job = await reach('queued');
    return { job, reply: await commit(job) };
  },
  'commit: a worker started it first': EVENTS.commit,
  'commit: a worker ran it first': EVENTS.commit,
  'commit: a worker failed it first': EVENTS.commit,
  'commit: expired or rolled back': EVENTS.commit,
  'release: completing it failed late': EVENTS.release,
  'start: not committed yet': EVENTS.start,
  'start: another attempt takes over': EVENTS.start,
  'finish: its attempt succeeds': EVENTS.finish,
  'finish: its attempt fails': EVENTS.finish,
  'finish: its attempt stops on a cancel': EVENTS.finish,
  'finish: another attempt holds it': async (row) => {
    const job = await reach(row.from);
    return { job, reply: await finish(job, 'succeeded', 'attempt-0') };
  },
  'finish: BullMQ failed it (token: any)': async (row) => {
    const job = await reach(row.from);
    return { job, reply: await finish(job, 'failed', '') };
  },
  'requeue: its attempt hands it back': EVENTS.requeue,
  'requeue: another attempt holds it': async (row) => {
    const job = await reach(row.from);
    return { job, reply: await writer.requeue(job, { now: Date.now(), ttl: TTL, token: 'attempt-0' }) };
  },
  'stalled: the attempt that stalled holds it': EVENTS.stalled,
  'stalled: a later attempt holds it': async (row) => {
    const job = await reach(row.from);
    expect((await start(job, 'attempt-2', 2))[0]).toBe('started');
    return { job, reply: await writer.stalled(job, { now: Date.now(), ttl: TTL, attempt: 1 }) };
  },
  'cancel: its worker is to stop (FLAG)': EVENTS.cancel,
  'remove: another owner asks': async (row) => {
    const job = await reach(row.from);
    return { job, reply: await writer.remove(job, { owner: 'mallory' }) };
  },
  'prune: expired': async (row) => {
    const job = await reach(row.from);
    return { job, reply: await writer.prune(job, { now: later(), ttl: TTL }) };
  },
  'prune: expired: still to run': async (row) => SITUATIONS['prune: expired'](row),
  'prune: expired: still running': async (row) => SITUATIONS['prune: expired'](row),
  'prune: not expired': EVENTS.prune,
};

const situation = (row: Transition): string | undefined =>
  row.when ? `${row.event}: ${row.when}` : undefined;
const rowName = (row: Transition): string =>
  `${row.from} --${row.event}${row.when ? ` (${row.when})` : ''}--> ${row.to}`;

describe('the table covers', () => {
  it('every script file, once, as a control script, a data script or a read', () => {
    const files = readdirSync(LUA_DIR).filter((f) => f.endsWith('.lua'));
    expect(files.sort()).toEqual(SCRIPT_NAMES.map(scriptFile).sort());
    const kinds = SCRIPT_NAMES.map((name) => {
      const kind = [
        (CONTROL_SCRIPTS as readonly string[]).includes(name) && 'control',
        name in DATA_SCRIPTS && 'data',
        (READ_SCRIPTS as readonly string[]).includes(name) && 'read',
      ].filter(Boolean);
      return [name, kind.length];
    });
    expect(kinds).toEqual(SCRIPT_NAMES.map((name) => [name, 1]));
  });

  it('every control script with a row, every phase as the start of one, every situation with a driver', () => {
    for (const event of CONTROL_SCRIPTS)
      expect(
        TRANSITIONS.some((t) => t.event === event),
        event,
      ).toBe(true);
    for (const p of PHASES)
      expect(
        TRANSITIONS.some((t) => t.from === p),
        p,
      ).toBe(true);
    expect(PHASES).toEqual(['absent', 'provisional', ...JOB_STATES]);
    const named = TRANSITIONS.map(situation).filter((s) => s !== undefined);
    expect([...new Set(named)].sort()).toEqual(Object.keys(SITUATIONS).sort());
  });

  it('every script in some change, and nothing else there', () => {
    const steps = Object.values(CHANGES).flat(2) as string[];
    expect([...new Set(steps)].sort()).toEqual(
      SCRIPT_NAMES.filter((n) => !READ_SCRIPTS.includes(n as never)).sort(),
    );
  });

  it('every reply a script may give (checkReply refuses any other)', () => {
    expect(checkReply('cancel', 'cancelled')).toBe('cancelled');
    expect(() => checkReply('cancel', 'paused')).toThrow(/cancel replied "paused", which no transition/);
    expect(() => checkReply('finish', 2)).toThrow(/finish replied 2/);
  });
});

describe('the scripts', () => {
  const sources = (dir: URL): [string, string][] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry): [string, string][] =>
      entry.isDirectory()
        ? sources(new URL(`${entry.name}/`, dir))
        : [[entry.name, readFileSync(new URL(entry.name, dir), 'utf8')]],
    );

  it('name their keys and arguments (no numeric KEYS or ARGV index)', () => {
    for (const [file, text] of sources(LUA_DIR)) {
      expect([file, text.match(/\b(KEYS|ARGV)\[\d/g)]).toEqual([file, null]);
    }
  });

  it('touch only the fields job-record.ts declares', () => {
    const used = { stateKey: new Set<string>(), runKey: new Set<string>() };
    for (const [, text] of sources(LUA_DIR)) {
      for (const m of text.matchAll(/\bget\('(\w+)'\)/g)) used.stateKey.add(m[1]);
      for (const m of text.matchAll(/redis\.call\('H\w+',\s*(stateKey|runKey),([^)]*)\)/g)) {
        for (const field of m[2].matchAll(/'([A-Za-z]\w*)'/g)) used[m[1] as keyof typeof used].add(field[1]);
      }
    }
    expect(used.stateKey.size).toBeGreaterThan(10);
    expect([...used.stateKey].filter((f) => !(f in STATE_FIELDS))).toEqual([]);
    expect(used.runKey.size).toBeGreaterThan(5);
    expect([...used.runKey].filter((f) => !(f in RUN_FIELDS))).toEqual([]);
  });
});

describe('the job writer', () => {
  const SRC = new URL('../../src/', import.meta.url);
  const files = (dir: string): [string, string][] =>
    readdirSync(new URL(dir, SRC))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => [`${dir}${f}`, readFileSync(new URL(`${dir}${f}`, SRC), 'utf8')]);
  const layer = [...files('jobs/'), ...files('webhooks/')];

  it('is the only module that runs a script', () => {
    const running = layer.filter(([, text]) => /import \{[^}]*\brunScript/.test(text)).map(([f]) => f);
    expect(running).toEqual(['jobs/job-writer.ts']);
  });

  it('is the only module of the job layer that sends a write command', () => {
    const WRITE =
      /\bredis\s*\.\s*(set|append|del|unlink|hset|hdel|zadd|zrem|expire|pexpire|rpush|xadd|incr|eval|evalsha|multi)\(/;
    const writing = layer.filter(([, text]) => WRITE.test(text)).map(([f]) => f);
    expect(writing).toEqual(['jobs/job-writer.ts']);
  });
});

describe('every transition against Redis', () => {
  for (const row of TRANSITIONS) {
    it(rowName(row), async () => {
      const name = situation(row);
      const drive = name === undefined ? EVENTS[row.event] : SITUATIONS[name];
      expect(drive, `no driver for ${name}`).toBeDefined();
      const { job, reply } = await drive(row);
      expect(first(reply)).toBe(row.reply);
      expect(await phase(job)).toBe(row.to);
      expect((await listing(job)).sort()).toEqual(listingOf(row.to).sort());
    });
  }
});

/** A data script's run with arguments a job in any phase accepts (the attempt's token where it needs one). */
const DATA_RUNS: Record<keyof typeof DATA_SCRIPTS, (job: TestJob) => Promise<unknown>> = {
  create,
  confirm: (job) => writer.confirm(job.id, { ttl: TTL }),
  dataStart: (job) => dataStart(job),
  progress: (job) =>
    writer.progress(job.id, {
      token: TOKEN,
      ttl: TTL,
      maxlen: 100,
      batchProgress: '{"iteration":0,"loss":1,"gradNorm":1}',
      checkpoint: '{"iteration":0}',
      checkpointIteration: 0,
      checkpointRecord: '[0,1,1,0,0]',
      truncated: '0',
      records: ['[0,1,1,0,0]'],
    }),
  seal: (job) => writer.seal(job.id, { token: '', ttl: TTL, result: RESULT, progress: '' }),
  sealBatch: (job) =>
    writer.sealBatch(job.id, {
      token: TOKEN,
      ttl: TTL,
      result: RESULT,
      progress: '',
      maxlen: 100,
      batchProgress: '',
      checkpoint: '',
      checkpointIteration: -1,
      checkpointRecord: '',
      truncated: '0',
      records: ['[0,1,1,0,0]', '[1,0.5,0.5,1,0]'],
    }),
  close: (job) =>
    writer.close(job.id, { ttl: TTL, maxlen: 100, endState: 'x', stateEvent: '{}', doneEvent: '{}' }),
  reset: (job) => writer.reset(job.id, { token: TOKEN }),
  flag: (job) => writer.flag(job.id, { ttl: TTL }),
  emit: (job) => writer.emit(job.id, { maxlen: 100, event: '{"state":"queued"}' }),
  appendDelivery: (job) => writer.appendDelivery(job.id, { record: '{}', keep: 100 }),
};

const READ_RUNS: Record<(typeof READ_SCRIPTS)[number], (job: TestJob) => Promise<unknown>> = {
  read: (job) => writer.read(job.id, true),
  events: (job) => writer.events(job.id, '-', 10),
};

describe('data scripts and reads change no phase', () => {
  const runs: [ScriptName, Phase, (job: TestJob) => Promise<unknown>][] = [
    ...Object.entries(DATA_SCRIPTS).flatMap(([name, phases]) =>
      phases.map((p): [ScriptName, Phase, (job: TestJob) => Promise<unknown>] => [
        name as ScriptName,
        p,
        DATA_RUNS[name as keyof typeof DATA_SCRIPTS],
      ]),
    ),
    ...READ_SCRIPTS.flatMap((name) =>
      PHASES.map((p): [ScriptName, Phase, (job: TestJob) => Promise<unknown>] => [name, p, READ_RUNS[name]]),
    ),
  ];
  for (const [name, p, run] of runs) {
    it(`${name} in ${p}`, async () => {
      // the job as a worker has it: its data started (queued: handed back, DATA_START ran before)
      const job = await reach(p);
      const listed = await listing(job);
      await run(job);
      expect(await phase(job)).toBe(p);
      expect(await listing(job)).toEqual(listed);
    });
  }
});
