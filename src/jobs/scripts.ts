/**
 * The Lua scripts behind every job state change. A change is a compare-and-set on the job's meta hash plus
 * the writes that go with it (events, TTLs), so it must be atomic: a cancel racing a worker's start, or a
 * worker that lost its BullMQ lock still reporting progress, can then never corrupt a job.
 *
 * Job scripts take the job's six keys (keys.ts: meta, problem, iterates, result, cancel, events; one hash
 * slot). Index scripts take the eight index keys (all, one per state, expiry, seq; another slot). A state
 * change runs the job script first and then mirrors the new state into the index; list() repairs the rare
 * index entry left behind by a crash in between.
 */
import type { Redis } from 'ioredis';

const JOB_KEYS = 6;
const INDEX_KEYS = 8;

const JOB_HELPERS = `
local FINISHED = { succeeded = true, failed = true, cancelled = true }
local function expireAll(ttl)
  for i = 1, #KEYS do redis.call('EXPIRE', KEYS[i], ttl) end
end
local function emit(maxlen, kind, data)
  redis.call('XADD', KEYS[6], 'MAXLEN', '~', maxlen, '*', 'type', kind, 'data', data)
end
`;

/**
 * A worker takes a job. ARGV: now, token, attempt, ttl, maxlen, running state-event, cancelled error,
 * cancelled state-event, cancelled done-event. Returns {outcome, previous state, score}; outcome is
 * missing (expired or deleted), finished, cancelled (the cancel flag was set while it waited) or started.
 */
const START = `${JOB_HELPERS}
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing', '', 0} end
local state = redis.call('HGET', KEYS[1], 'state')
local score = tonumber(redis.call('HGET', KEYS[1], 'score'))
if FINISHED[state] then return {'finished', state, score} end
local ttl, maxlen = tonumber(ARGV[4]), ARGV[5]
if redis.call('EXISTS', KEYS[5]) == 1 then
  redis.call('HSET', KEYS[1], 'state', 'cancelled', 'finishedAt', ARGV[1], 'error', ARGV[7])
  redis.call('HDEL', KEYS[1], 'token')
  redis.call('DEL', KEYS[2], KEYS[5])
  emit(maxlen, 'state', ARGV[8])
  emit(maxlen, 'done', ARGV[9])
  expireAll(ttl)
  return {'cancelled', state, score}
end
redis.call('HSET', KEYS[1], 'state', 'running', 'attempts', ARGV[3], 'token', ARGV[2])
redis.call('HSETNX', KEYS[1], 'startedAt', ARGV[1])
-- a retried attempt starts over from iteration 0
redis.call('HDEL', KEYS[1], 'progress')
redis.call('DEL', KEYS[3])
emit(maxlen, 'state', ARGV[6])
expireAll(ttl)
return {'started', state, score}
`;

/**
 * A batch of iterates from the attempt holding `token`. ARGV: token, ttl, maxlen, progress JSON ('' for
 * none), then the records. Returns 0 when another attempt owns the job (this one should stop).
 */
const PROGRESS = `${JOB_HELPERS}
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
local ttl, maxlen = tonumber(ARGV[2]), ARGV[3]
for i = 5, #ARGV, 1000 do
  redis.call('RPUSH', KEYS[3], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[1], 'progress', ARGV[4])
  emit(maxlen, 'progress', ARGV[4])
end
redis.call('EXPIRE', KEYS[3], ttl)
redis.call('EXPIRE', KEYS[6], ttl)
return 1
`;

/**
 * The end of a job. ARGV: token ('' = whoever holds it, used when BullMQ itself failed the job), state,
 * now, ttl, maxlen, state-event, done-event, result JSON, error JSON, progress JSON (each '' for none).
 * The problem blob goes (no reader needs it any more) and every remaining key's TTL restarts, so
 * retention counts from the end. Returns {1 or 0, score}.
 */
const FINISH = `${JOB_HELPERS}
local state = redis.call('HGET', KEYS[1], 'state')
if not state or FINISHED[state] then return {0, 0} end
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return {0, 0} end
local ttl, maxlen = tonumber(ARGV[4]), ARGV[5]
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'finishedAt', ARGV[3])
redis.call('HDEL', KEYS[1], 'token')
if ARGV[8] ~= '' then redis.call('SET', KEYS[4], ARGV[8]) end
if ARGV[9] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[9]) end
if ARGV[10] ~= '' then redis.call('HSET', KEYS[1], 'progress', ARGV[10]) end
redis.call('DEL', KEYS[2], KEYS[5])
emit(maxlen, 'state', ARGV[6])
emit(maxlen, 'done', ARGV[7])
expireAll(ttl)
return {1, tonumber(redis.call('HGET', KEYS[1], 'score'))}
`;

/**
 * The attempt holding `token` gives the job back (worker shutdown, or a retryable failure): queued again,
 * its partial iterates dropped. ARGV: token, ttl, maxlen, state-event. Returns {1 or 0, score}.
 */
const REQUEUE = `${JOB_HELPERS}
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return {0, 0} end
redis.call('HSET', KEYS[1], 'state', 'queued')
redis.call('HDEL', KEYS[1], 'token', 'progress')
redis.call('DEL', KEYS[3])
emit(ARGV[3], 'state', ARGV[4])
expireAll(tonumber(ARGV[2]))
return {1, tonumber(redis.call('HGET', KEYS[1], 'score'))}
`;

/**
 * A client cancels. Queued: cancelled here and now. Running: the cancel flag, which the worker polls.
 * ARGV: now, ttl, maxlen, error JSON, state-event, done-event. Returns {outcome, score}; outcome is
 * missing, cancelled, flagged or finished.
 */
const CANCEL = `${JOB_HELPERS}
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing', 0} end
local score = tonumber(redis.call('HGET', KEYS[1], 'score'))
if FINISHED[state] then return {'finished', score} end
local ttl, maxlen = tonumber(ARGV[2]), ARGV[3]
if state == 'running' then
  redis.call('SET', KEYS[5], '1', 'EX', ttl)
  return {'flagged', score}
end
redis.call('HSET', KEYS[1], 'state', 'cancelled', 'finishedAt', ARGV[1], 'error', ARGV[4])
redis.call('DEL', KEYS[2])
emit(maxlen, 'state', ARGV[5])
emit(maxlen, 'done', ARGV[6])
expireAll(ttl)
return {'cancelled', score}
`;

/** Deletes a finished job's keys. Returns {'not-found'}, {'running'} or {'deleted', score, idempotency key}. */
const REMOVE = `${JOB_HELPERS}
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'not-found', 0, ''} end
if not FINISHED[state] then return {'running', 0, ''} end
local score = tonumber(redis.call('HGET', KEYS[1], 'score'))
local idem = redis.call('HGET', KEYS[1], 'idempotencyKey') or ''
redis.call('DEL', unpack(KEYS))
return {'deleted', score, idem}
`;

/** Mirrors a job's state into the index. ARGV: id, state index (1-5, in JOB_STATES order), score, expiresAt, ttl. */
const INDEX_SET = `
local id = ARGV[1]
local target = 1 + tonumber(ARGV[2])
for i = 2, 6 do
  if i ~= target then redis.call('ZREM', KEYS[i], id) end
end
redis.call('ZADD', KEYS[target], ARGV[3], id)
redis.call('ZADD', KEYS[1], ARGV[3], id)
redis.call('ZADD', KEYS[7], ARGV[4], id)
for i = 1, #KEYS do redis.call('EXPIRE', KEYS[i], ARGV[5]) end
return 1
`;

/** Forgets ids. ARGV: the ids. */
const INDEX_DEL = `
for i = 1, 7 do redis.call('ZREM', KEYS[i], unpack(ARGV)) end
return #ARGV
`;

/** Forgets up to ARGV[2] jobs whose keys expired before ARGV[1] (ms). Returns how many. */
const INDEX_PRUNE = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[7], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #ids > 0 then
  for i = 1, 7 do redis.call('ZREM', KEYS[i], unpack(ids)) end
end
return #ids
`;

const SCRIPTS = {
  levinvStart: { numberOfKeys: JOB_KEYS, lua: START },
  levinvProgress: { numberOfKeys: JOB_KEYS, lua: PROGRESS },
  levinvFinish: { numberOfKeys: JOB_KEYS, lua: FINISH },
  levinvRequeue: { numberOfKeys: JOB_KEYS, lua: REQUEUE },
  levinvCancel: { numberOfKeys: JOB_KEYS, lua: CANCEL },
  levinvRemove: { numberOfKeys: JOB_KEYS, lua: REMOVE },
  levinvIndexSet: { numberOfKeys: INDEX_KEYS, lua: INDEX_SET },
  levinvIndexDel: { numberOfKeys: INDEX_KEYS, lua: INDEX_DEL },
  levinvIndexPrune: { numberOfKeys: INDEX_KEYS, lua: INDEX_PRUNE },
} as const;

export type ScriptName = keyof typeof SCRIPTS;
type ScriptArg = string | number | Buffer;
type ScriptFn = (...args: ScriptArg[]) => Promise<unknown>;

/** Registers the scripts on a connection (ioredis then runs them by EVALSHA, loading them on a miss). */
export function defineScripts(redis: Redis): void {
  for (const [name, script] of Object.entries(SCRIPTS)) redis.defineCommand(name, script);
}

export function runScript<T>(
  redis: Redis,
  name: ScriptName,
  keys: readonly string[],
  args: readonly ScriptArg[],
): Promise<T> {
  const fn = (redis as unknown as Record<ScriptName, ScriptFn>)[name];
  return fn.call(redis, ...keys, ...args) as Promise<T>;
}
