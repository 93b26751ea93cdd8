/**
 * The script table: every Lua script of the job layer (`lua/<name>.lua`, kebab-case), with its keys and
 * arguments by name, in the order Redis gets them. The loader (lua-loader.ts) turns each entry into the
 * script's prelude, and runScript into the call's KEYS and ARGV, so a key or an argument is named in one
 * place and counted nowhere. What each script does is in its file's header; when which one runs, and what
 * it may change, is the transition table (transitions.ts). Only the job writer (job-writer.ts) runs them.
 *
 * Every script touches the keys of one hash slot (keys.ts): a control script the `{bullmq}` slot (a job's
 * state hash and the indexes over jobs), a data script the job's own `{<id>}` slot.
 */
import { FINISHED_STATES, JOB_STATES } from './job-record.js';
import type { ControlKeys, DataKeys, DeliveryLogKeys, FinishKeys } from './keys.js';
import { expandIncludes, type KeySpec, keyCount, keyList, type LuaSignature, prelude } from './lua-loader.js';
import type { RedisClient } from './redis.js';

/** How long past its expiry a state hash and the indexes live should prune never run (ms). */
export const CONTROL_GRACE_MS = 3600 * 1000;

/** Every script's prelude declares these (Lua locals of the same names). */
const CONSTANTS = {
  STATES: JOB_STATES,
  FINISHED: Object.fromEntries(FINISHED_STATES.map((s) => [s, true])),
  GRACE_MS: CONTROL_GRACE_MS,
};

declare const KEYS_OF: unique symbol;
/** The KEYS of a script that takes keys of shape T, in order. */
type Layout<T> = readonly KeySpec[] & { readonly [KEYS_OF]?: T };

type Order<T> = { readonly [K in keyof T]-?: T[K] extends string ? 'key' : 'per-state' };

/** Orders the properties of T as KEYS: a string is one key, a per-state record a group (JOB_STATES order). */
function layout<T>(order: Order<T>): Layout<T> {
  return Object.entries(order).map(([name, kind]) =>
    kind === 'key' ? name : { group: name, members: JOB_STATES },
  ) as Layout<T>;
}

/** Lua sees them as stateKey, allKey, byStateKeys.queued, ..., seqKey. */
const CONTROL_ORDER: Order<ControlKeys> = {
  state: 'key',
  all: 'key',
  byState: 'per-state',
  expiry: 'key',
  ownerAll: 'key',
  ownerByState: 'per-state',
  ownerPending: 'key',
  idempotency: 'key',
  seq: 'key',
};
const CONTROL = layout<ControlKeys>(CONTROL_ORDER);
/** FINISH also counts the solve in the histogram (solveSecondsKey, the same slot). */
const FINISH = layout<FinishKeys>({ ...CONTROL_ORDER, solveSeconds: 'key' });
/** Lua sees them as problemKey, iteratesKey, ..., cancelKey. */
const DATA = layout<DataKeys>({
  problem: 'key',
  iterates: 'key',
  result: 'key',
  events: 'key',
  run: 'key',
  cancel: 'key',
});
const DELIVERY_LOG = layout<DeliveryLogKeys>({ deliveries: 'key', run: 'key' });

/** A progress batch's arguments (PROGRESS, SEAL_BATCH; the records follow as `records`). */
const BATCH = [
  'batchProgress',
  'checkpoint',
  'checkpointIteration',
  'checkpointRecord',
  'truncated',
] as const;

const SCRIPTS = {
  // control scripts: they decide a job's state (transitions.ts)
  admit: {
    keys: CONTROL,
    args: ['id', 'maxActive', 'now', 'provisionalTtl', 'idempotencyRecord', 'replaceRecord', 'ttl'],
    rest: 'fields',
  },
  commit: { keys: CONTROL, args: ['id', 'now', 'ttl', 'idempotencyRecord'] },
  release: { keys: CONTROL, args: ['id', 'idempotencyRecord'] },
  start: { keys: CONTROL, args: ['id', 'now', 'ttl', 'token', 'attempt', 'holder', 'recordLimit'] },
  finish: { keys: FINISH, args: ['id', 'now', 'ttl', 'token', 'endState', 'errorJson', 'bucket', 'seconds'] },
  requeue: { keys: CONTROL, args: ['id', 'now', 'ttl', 'token'] },
  stalled: { keys: CONTROL, args: ['id', 'now', 'ttl', 'attempt'] },
  cancel: { keys: CONTROL, args: ['id', 'now', 'ttl', 'errorJson'] },
  remove: { keys: CONTROL, args: ['id', 'owner'] },
  prune: { keys: CONTROL, args: ['id', 'now', 'ttl'] },
  // data scripts: they write what a run produces and never decide a state
  create: { keys: DATA, args: ['provisionalTtl', 'maxlen', 'event', 'blob'] },
  confirm: { keys: DATA, args: ['ttl'] },
  dataStart: {
    keys: DATA,
    args: ['token', 'ttl', 'maxlen', 'attempt', 'every', 'recordLimit', 'inlineBytes'],
  },
  progress: { keys: DATA, args: ['token', 'ttl', 'maxlen', ...BATCH], rest: 'records' },
  seal: { keys: DATA, args: ['token', 'ttl', 'result', 'progress'] },
  sealBatch: {
    keys: DATA,
    args: ['token', 'ttl', 'result', 'progress', 'maxlen', ...BATCH],
    rest: 'records',
  },
  close: { keys: DATA, args: ['ttl', 'maxlen', 'endState', 'stateEvent', 'doneEvent'] },
  reset: { keys: DATA, args: ['token'] },
  flag: { keys: DATA, args: ['ttl'] },
  emit: { keys: DATA, args: ['maxlen', 'event'] },
  appendDelivery: { keys: DELIVERY_LOG, args: ['record', 'keep'] },
  // reads that need one consistent step
  read: { keys: DATA, args: ['withResult'] },
  events: { keys: DATA, args: ['start', 'count'] },
} as const satisfies Record<string, LuaSignature>;

export type ScriptName = keyof typeof SCRIPTS;
export const SCRIPT_NAMES = Object.keys(SCRIPTS) as ScriptName[];
export type ScriptArg = string | number | Buffer;

type Entry<N extends ScriptName> = (typeof SCRIPTS)[N];
/** The keys script N takes, by name. */
export type ScriptKeys<N extends ScriptName> = Entry<N>['keys'] extends Layout<infer T> ? T : never;
/** The arguments script N takes, by name (a variadic one as an array). */
export type ScriptArgs<N extends ScriptName> = {
  [A in Entry<N>['args'][number]]: ScriptArg;
} & (Entry<N> extends {
  rest: infer R extends string;
}
  ? { [K in R]: readonly ScriptArg[] }
  : unknown);

/** The file a script lives in, under lua/. */
export const scriptFile = (name: ScriptName): string =>
  `${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}.lua`;

/** ioredis's command name of a script (a prefix keeps it apart from Redis's own commands). */
export const commandName = (name: ScriptName): string => `levinv${name[0].toUpperCase()}${name.slice(1)}`;

export const LUA_DIR = new URL('./lua/', import.meta.url);

/** Each script's full text (prelude, then its file with the includes expanded), read once. */
const SOURCES = new Map<ScriptName, { numberOfKeys: number; lua: string }>(
  SCRIPT_NAMES.map((name) => {
    const signature: LuaSignature = SCRIPTS[name];
    const lua = prelude(signature, CONSTANTS) + expandIncludes(LUA_DIR, scriptFile(name));
    return [name, { numberOfKeys: keyCount(signature), lua }];
  }),
);

const defined = new WeakSet<RedisClient>();

/**
 * Registers the scripts on a connection (ioredis then runs them by EVALSHA, loading them on a miss). Once
 * per connection; runScript calls it.
 */
export function defineScripts(redis: RedisClient): void {
  if (defined.has(redis)) return;
  for (const [name, script] of SOURCES) redis.defineCommand(commandName(name), script);
  defined.add(redis);
}

type ScriptFn = (...args: ScriptArg[]) => Promise<unknown>;

function call(
  redis: RedisClient,
  command: string,
  name: ScriptName,
  keys: unknown,
  args: unknown,
): Promise<unknown> {
  defineScripts(redis);
  const signature: LuaSignature = SCRIPTS[name];
  const named = args as Readonly<Record<string, ScriptArg | readonly ScriptArg[]>>;
  const argv = signature.args.map((arg) => named[arg] as ScriptArg);
  if (signature.rest) argv.push(...(named[signature.rest] as readonly ScriptArg[]));
  const fn = (redis as unknown as Record<string, ScriptFn>)[command];
  return fn.call(redis, ...keyList(signature, keys as Record<string, unknown>), ...argv);
}

/** Runs script `name` with its keys and arguments by name; the reply as Redis gives it. */
export function runScript<N extends ScriptName>(
  redis: RedisClient,
  name: N,
  keys: ScriptKeys<N>,
  args: ScriptArgs<N>,
): Promise<unknown> {
  return call(redis, commandName(name), name, keys, args);
}

/** runScript, with every string of the reply as a Buffer (ioredis's `<command>Buffer` variant). */
export function runScriptBuffer<N extends ScriptName>(
  redis: RedisClient,
  name: N,
  keys: ScriptKeys<N>,
  args: ScriptArgs<N>,
): Promise<unknown> {
  return call(redis, `${commandName(name)}Buffer`, name, keys, args);
}
