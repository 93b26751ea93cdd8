/**
 * The Lua scripts behind every job state change. A change is a compare-and-set on the job's meta hash plus
 * the writes that go with it (events, TTLs), so it must be atomic: a cancel racing a worker's start, or a
 * worker that lost its BullMQ lock still reporting progress, can then never corrupt a job.
 *
 * Job scripts take the job's six keys (keys.ts: meta, problem, iterates, result, cancel, events; one hash
 * slot). Every state change bumps the meta's version `v` and returns it with the job's owner; the caller
 * then mirrors the state into the index (another slot) with that version, and the index ignores a mirror
 * older than the one it holds, so two racing mirrors (a submitter's and a worker's) settle on the newest.
 *
 * Index scripts take the index keys (keys.ts indexKeyList: global 1-10, the owner's 11-17, then an
 * idempotency key as 18 when the script needs one; all in the `{jobs}` slot).
 */
import type { RedisClient } from './redis.js';
import { JOB_STATES } from './types.js';

const JOB_KEYS = 6;
const INDEX_KEYS = 17;

const JOB_HELPERS = `
local FINISHED = { succeeded = true, failed = true, cancelled = true }
local function expireAll(ttl)
  for i = 1, #KEYS do redis.call('EXPIRE', KEYS[i], ttl) end
end
-- Wakes whoever follows the job (wakeups.ts): the channel is named like the key it announces, so it
-- has the job's hash tag (its slot) in a Redis Cluster. Redis 7 only (SPUBLISH); older servers get no push.
local function announce(channel, message)
  if redis.REDIS_VERSION_NUM then redis.call('SPUBLISH', channel, message) end
end
local function emit(maxlen, kind, data)
  announce(KEYS[6], redis.call('XADD', KEYS[6], 'MAXLEN', '~', maxlen, '*', 'type', kind, 'data', data))
end
local function bump() return redis.call('HINCRBY', KEYS[1], 'v', 1) end
local function owner() return redis.call('HGET', KEYS[1], 'owner') or '' end
local function score() return tonumber(redis.call('HGET', KEYS[1], 'score')) or 0 end
-- an iterate record is a JSON array whose first element is its iteration number
local function recordIteration(record) return tonumber(string.match(record, '^%[(%d+)')) end
local function lastRecorded()
  local record = redis.call('LINDEX', KEYS[3], -1)
  if record then return recordIteration(record) end
  return -1
end
`;

/**
 * A worker takes a job. ARGV: now, token, attempt, ttl, maxlen, running state-event, cancelled error,
 * cancelled state-event, cancelled done-event, holder, record.every, recorded-iterates limit.
 * Returns {outcome, previous state, score, version, owner, checkpoint JSON, checkpoint record, recorded,
 * last recorded iteration, resumes}; outcome is missing (expired or deleted), finished, cancelled (the
 * cancel flag was set while it waited) or started.
 *
 * A job with a checkpoint resumes from it: its iterates stay, trimmed to end at or before the checkpoint
 * and without a tail that was kept only as the previous run's last iterate (not an every-th one, or one
 * past the limit), so the resumed run continues the list exactly as an uninterrupted run would have.
 */
const START = `${JOB_HELPERS}
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing', '', 0, 0, '', '', '', 0, -1, 0} end
local state = redis.call('HGET', KEYS[1], 'state')
if FINISHED[state] then return {'finished', state, score(), 0, owner(), '', '', 0, -1, 0} end
local ttl, maxlen = tonumber(ARGV[4]), ARGV[5]
-- a worker can only have it from BullMQ, so its submission got that far: the job is no longer provisional
redis.call('HDEL', KEYS[1], 'provisional')
if redis.call('EXISTS', KEYS[5]) == 1 then
  redis.call('HSET', KEYS[1], 'state', 'cancelled', 'finishedAt', ARGV[1], 'error', ARGV[7])
  redis.call('HDEL', KEYS[1], 'token', 'checkpoint', 'checkpointRecord', 'checkpointIteration')
  redis.call('DEL', KEYS[2], KEYS[5])
  local v = bump()
  emit(maxlen, 'state', ARGV[8])
  emit(maxlen, 'done', ARGV[9])
  expireAll(ttl)
  return {'cancelled', state, score(), v, owner(), '', '', 0, -1, 0}
end
local checkpoint = redis.call('HGET', KEYS[1], 'checkpoint')
local event = ARGV[6]
local resumes = tonumber(redis.call('HGET', KEYS[1], 'resumes') or '0')
if checkpoint then
  local c = tonumber(redis.call('HGET', KEYS[1], 'checkpointIteration'))
  local every, limit = tonumber(ARGV[11]), tonumber(ARGV[12])
  while redis.call('LLEN', KEYS[3]) > 0 and lastRecorded() > c do redis.call('RPOP', KEYS[3]) end
  if redis.call('LLEN', KEYS[3]) >= limit then
    redis.call('LTRIM', KEYS[3], 0, limit - 2)
  elseif lastRecorded() == c and c % every ~= 0 then
    redis.call('RPOP', KEYS[3])
  end
  resumes = redis.call('HINCRBY', KEYS[1], 'resumes', 1)
  event = '{"state":"running","attempt":' .. ARGV[3] .. ',"resumedFrom":' .. string.format('%d', c) .. '}'
else
  -- no checkpoint: nothing was recorded that a run could continue from
  redis.call('HDEL', KEYS[1], 'progress', 'truncated')
  redis.call('DEL', KEYS[3])
end
redis.call('HSET', KEYS[1], 'state', 'running', 'attempts', ARGV[3], 'token', ARGV[2], 'holder', ARGV[10],
  'recordLimit', ARGV[12])
redis.call('HSETNX', KEYS[1], 'startedAt', ARGV[1])
local v = bump()
emit(maxlen, 'state', event)
expireAll(ttl)
return {'started', state, score(), v, owner(), checkpoint or '',
  redis.call('HGET', KEYS[1], 'checkpointRecord') or '', redis.call('LLEN', KEYS[3]), lastRecorded(), resumes}
`;

/**
 * A batch of iterates from the attempt holding `token`, with the checkpoint of the batch's last iterate.
 * ARGV: token, ttl, maxlen, progress JSON, checkpoint JSON, checkpoint iteration, checkpoint record,
 * truncated (1/0), then the records ('' for progress and checkpoint: none in this call). Idempotent (a
 * command resent after a reconnect changes nothing): records at or before the last stored iteration and a
 * checkpoint not past the stored one are skipped. Returns {the number of recorded iterates, 1 if a cancel
 * was requested else 0}, or {-1, 0} when another attempt owns the job (this one should stop).
 */
const PROGRESS = `${JOB_HELPERS}
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return {-1, 0} end
local ttl, maxlen = tonumber(ARGV[2]), ARGV[3]
local last = lastRecorded()
local fresh = {}
for i = 9, #ARGV do
  local it = recordIteration(ARGV[i])
  if it > last then
    fresh[#fresh + 1] = ARGV[i]
    last = it
  end
end
for i = 1, #fresh, 1000 do
  redis.call('RPUSH', KEYS[3], unpack(fresh, i, math.min(i + 999, #fresh)))
end
if ARGV[5] ~= '' then
  local stored = tonumber(redis.call('HGET', KEYS[1], 'checkpointIteration') or '-1')
  if tonumber(ARGV[6]) > stored then
    redis.call('HSET', KEYS[1], 'checkpoint', ARGV[5], 'checkpointIteration', ARGV[6],
      'checkpointRecord', ARGV[7], 'progress', ARGV[4])
    emit(maxlen, 'progress', ARGV[4])
  end
end
if ARGV[8] == '1' then redis.call('HSET', KEYS[1], 'truncated', '1') end
redis.call('EXPIRE', KEYS[3], ttl)
redis.call('EXPIRE', KEYS[6], ttl)
return {redis.call('LLEN', KEYS[3]), redis.call('EXISTS', KEYS[5])}
`;

/**
 * The end of a job. ARGV: token ('' = whoever holds it, used when BullMQ itself failed the job), state,
 * now, ttl, maxlen, state-event, done-event, result JSON, error JSON, progress JSON (each '' for none).
 * The problem blob and the checkpoint go (no reader needs them any more) and every remaining key's TTL
 * restarts, so retention counts from the end. Returns {1 or 0, score, version, owner}.
 */
const FINISH = `${JOB_HELPERS}
local state = redis.call('HGET', KEYS[1], 'state')
if not state or FINISHED[state] then return {0, 0, 0, ''} end
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return {0, 0, 0, ''} end
local ttl, maxlen = tonumber(ARGV[4]), ARGV[5]
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'finishedAt', ARGV[3])
redis.call('HDEL', KEYS[1], 'token', 'provisional', 'checkpoint', 'checkpointRecord', 'checkpointIteration')
if ARGV[8] ~= '' then redis.call('SET', KEYS[4], ARGV[8]) end
if ARGV[9] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[9]) end
if ARGV[10] ~= '' then redis.call('HSET', KEYS[1], 'progress', ARGV[10]) end
redis.call('DEL', KEYS[2], KEYS[5])
local v = bump()
emit(maxlen, 'state', ARGV[6])
emit(maxlen, 'done', ARGV[7])
expireAll(ttl)
return {1, score(), v, owner()}
`;

/**
 * The attempt holding `token` gives the job back: queued again. ARGV: token, ttl, maxlen, state-event,
 * keep (1: a shutdown hand-back keeps the checkpoint, progress and iterates for the next worker to resume
 * from; 0: a retry after an internal error starts over). Returns {1 or 0, score, version, owner}.
 */
const REQUEUE = `${JOB_HELPERS}
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return {0, 0, 0, ''} end
redis.call('HSET', KEYS[1], 'state', 'queued')
redis.call('HDEL', KEYS[1], 'token')
if ARGV[5] ~= '1' then
  redis.call('HDEL', KEYS[1], 'progress', 'truncated', 'checkpoint', 'checkpointRecord', 'checkpointIteration')
  redis.call('DEL', KEYS[3])
end
local v = bump()
emit(ARGV[3], 'state', ARGV[4])
expireAll(tonumber(ARGV[2]))
return {1, score(), v, owner()}
`;

/**
 * BullMQ found the job's worker dead (its lock expired) and put it back in the wait list: while no worker
 * holds it, it is queued again (progress and checkpoint kept). Only if the attempt that stalled still holds
 * it: a worker that has taken it since has a higher attempt number. ARGV: attempt, ttl, maxlen,
 * state-event. Returns {1 or 0, score, version, owner}.
 */
const STALLED = `${JOB_HELPERS}
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return {0, 0, 0, ''} end
if redis.call('HGET', KEYS[1], 'attempts') ~= ARGV[1] then return {0, 0, 0, ''} end
redis.call('HSET', KEYS[1], 'state', 'queued')
redis.call('HDEL', KEYS[1], 'token')
local v = bump()
emit(ARGV[3], 'state', ARGV[4])
expireAll(tonumber(ARGV[2]))
return {1, score(), v, owner()}
`;

/**
 * A client cancels. Queued: cancelled here and now. Running: the cancel flag, announced on the channel of
 * the flag's name (the running job's worker follows it; its next PROGRESS reply also carries the flag).
 * ARGV: now, ttl, maxlen, error JSON, state-event, done-event. Returns {outcome, score, version, owner};
 * outcome is missing, cancelled, flagged or finished.
 */
const CANCEL = `${JOB_HELPERS}
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing', 0, 0, ''} end
if FINISHED[state] then return {'finished', score(), 0, owner()} end
local ttl, maxlen = tonumber(ARGV[2]), ARGV[3]
if state == 'running' then
  redis.call('SET', KEYS[5], '1', 'EX', ttl)
  announce(KEYS[5], '1')
  return {'flagged', score(), 0, owner()}
end
redis.call('HSET', KEYS[1], 'state', 'cancelled', 'finishedAt', ARGV[1], 'error', ARGV[4])
redis.call('HDEL', KEYS[1], 'checkpoint', 'checkpointRecord', 'checkpointIteration')
redis.call('DEL', KEYS[2])
local v = bump()
emit(maxlen, 'state', ARGV[5])
emit(maxlen, 'done', ARGV[6])
expireAll(ttl)
return {'cancelled', score(), v, owner()}
`;

/**
 * Deletes a finished job's keys, if `owner` (ARGV[1]) owns it. Returns {'not-found'}, {'running'} or
 * {'deleted', score, idempotency key}.
 */
const REMOVE = `${JOB_HELPERS}
local state = redis.call('HGET', KEYS[1], 'state')
if not state or owner() ~= ARGV[1] then return {'not-found', 0, ''} end
if not FINISHED[state] then return {'running', 0, ''} end
local s = score()
local idem = redis.call('HGET', KEYS[1], 'idempotencyKey') or ''
redis.call('DEL', unpack(KEYS))
return {'deleted', s, idem}
`;

/**
 * A submission makes its job complete: the blob, meta and events (written with a provisional TTL) get the
 * full one. ARGV: ttl. Returns the job's state, or '' when its keys are gone (expired, or rolled back).
 */
const CONFIRM = `${JOB_HELPERS}
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return '' end
if redis.call('HDEL', KEYS[1], 'provisional') == 1 then expireAll(tonumber(ARGV[1])) end
return state
`;

const STATE_NAMES = `{${JOB_STATES.map((s) => `'${s}'`).join(', ')}}`;

const INDEX_HELPERS = `
local STATES = ${STATE_NAMES}
local function unindex(id)
  for i = 1, 7 do redis.call('ZREM', KEYS[i], id) end
  for i = 11, 17 do redis.call('ZREM', KEYS[i], id) end
  redis.call('HDEL', KEYS[9], id)
  redis.call('HDEL', KEYS[10], id)
end
-- mirrors version v of a job in state number t (JOB_STATES order); an older version changes nothing
local function index(id, t, score, expiresAt, ttl, v, base)
  if tonumber(redis.call('HGET', KEYS[10], id) or '0') > v then return 0 end
  for s = 1, #STATES do
    if s ~= t then
      redis.call('ZREM', KEYS[1 + s], id)
      redis.call('ZREM', KEYS[11 + s], id)
    end
  end
  redis.call('ZADD', KEYS[1 + t], score, id)
  redis.call('ZADD', KEYS[11 + t], score, id)
  redis.call('ZADD', KEYS[1], score, id)
  redis.call('ZADD', KEYS[11], score, id)
  redis.call('ZADD', KEYS[7], expiresAt, id)
  redis.call('ZREM', KEYS[17], id)
  redis.call('HSET', KEYS[9], id, base)
  redis.call('HSET', KEYS[10], id, v)
  for i = 1, 17 do redis.call('EXPIRE', KEYS[i], ttl) end
  return 1
end
`;

/** Mirrors a job's state. ARGV: id, state number (1-5, JOB_STATES order), score, expiresAt, ttl, version, owner base. */
const INDEX_SET = `${INDEX_HELPERS}
return index(ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7])
`;

/** Forgets ids (all of the owner whose keys are passed). ARGV: the ids. */
const INDEX_DEL = `${INDEX_HELPERS}
for i = 1, #ARGV do unindex(ARGV[i]) end
return #ARGV
`;

/**
 * Forgets up to ARGV[2] jobs whose keys expired before ARGV[1] (ms), from every owner's sets (found through
 * the owners hash: key names built here, all in the `{jobs}` slot). Returns how many.
 */
const INDEX_PRUNE = `${INDEX_HELPERS}
local ids = redis.call('ZRANGEBYSCORE', KEYS[7], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  local base = redis.call('HGET', KEYS[9], id)
  if base then
    redis.call('ZREM', base .. ':all', id)
    redis.call('ZREM', base .. ':pending', id)
    for _, s in ipairs(STATES) do redis.call('ZREM', base .. ':state:' .. s, id) end
  end
  for i = 1, 7 do redis.call('ZREM', KEYS[i], id) end
  redis.call('HDEL', KEYS[9], id)
  redis.call('HDEL', KEYS[10], id)
end
return #ids
`;

/**
 * A submission asks for a place: the owner's quota (queued + running + admitted, checked and taken in one
 * step, so two submissions cannot both take the last place) and its Idempotency-Key. ARGV: id, max active
 * (0: no limit), now, reservation end (ms), provisional ttl, idempotency record ('' for none), the record
 * to replace ('' for none: only a missing key is claimed), ttl. Returns {'ok', ''}, {'quota', active} or
 * {'taken', the key's record}.
 */
const ADMIT = `
redis.call('ZREMRANGEBYSCORE', KEYS[17], '-inf', ARGV[3])
local max = tonumber(ARGV[2])
if max > 0 then
  local active = redis.call('ZCARD', KEYS[12]) + redis.call('ZCARD', KEYS[13]) + redis.call('ZCARD', KEYS[17])
  if active >= max then return {'quota', tostring(active)} end
end
if ARGV[6] ~= '' then
  local current = redis.call('GET', KEYS[18])
  if current and current ~= ARGV[7] then return {'taken', current} end
  redis.call('SET', KEYS[18], ARGV[6], 'EX', ARGV[5])
end
redis.call('ZADD', KEYS[17], ARGV[4], ARGV[1])
redis.call('EXPIRE', KEYS[17], ARGV[8])
return {'ok', ''}
`;

/**
 * A submission is complete: its job is listed as queued (version 1, so a worker that has started it
 * already wins) and its Idempotency-Key, if it still names the job, lives as long as the job. ARGV: as
 * INDEX_SET, then the idempotency record ('' for none).
 */
const COMMIT = `${INDEX_HELPERS}
index(ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7])
if ARGV[8] ~= '' and redis.call('GET', KEYS[18]) == ARGV[8] then redis.call('EXPIRE', KEYS[18], ARGV[5]) end
return 1
`;

/** A submission failed: its place, index entries and Idempotency-Key (if still its own) go. ARGV: id, record. */
const RELEASE = `${INDEX_HELPERS}
unindex(ARGV[1])
if ARGV[2] ~= '' and redis.call('GET', KEYS[18]) == ARGV[2] then redis.call('DEL', KEYS[18]) end
return 1
`;

const SCRIPTS = {
  levinvStart: { numberOfKeys: JOB_KEYS, lua: START },
  levinvProgress: { numberOfKeys: JOB_KEYS, lua: PROGRESS },
  levinvFinish: { numberOfKeys: JOB_KEYS, lua: FINISH },
  levinvRequeue: { numberOfKeys: JOB_KEYS, lua: REQUEUE },
  levinvStalled: { numberOfKeys: JOB_KEYS, lua: STALLED },
  levinvCancel: { numberOfKeys: JOB_KEYS, lua: CANCEL },
  levinvRemove: { numberOfKeys: JOB_KEYS, lua: REMOVE },
  levinvConfirm: { numberOfKeys: JOB_KEYS, lua: CONFIRM },
  levinvIndexSet: { numberOfKeys: INDEX_KEYS, lua: INDEX_SET },
  levinvIndexDel: { numberOfKeys: INDEX_KEYS, lua: INDEX_DEL },
  levinvIndexPrune: { numberOfKeys: INDEX_KEYS, lua: INDEX_PRUNE },
  levinvAdmit: { numberOfKeys: INDEX_KEYS + 1, lua: ADMIT },
  levinvCommit: { numberOfKeys: INDEX_KEYS + 1, lua: COMMIT },
  levinvRelease: { numberOfKeys: INDEX_KEYS + 1, lua: RELEASE },
} as const;

export type ScriptName = keyof typeof SCRIPTS;
type ScriptArg = string | number | Buffer;
type ScriptFn = (...args: ScriptArg[]) => Promise<unknown>;

/** Registers the scripts on a connection (ioredis then runs them by EVALSHA, loading them on a miss). */
export function defineScripts(redis: RedisClient): void {
  for (const [name, script] of Object.entries(SCRIPTS)) redis.defineCommand(name, script);
}

export function runScript<T>(
  redis: RedisClient,
  name: ScriptName,
  keys: readonly string[],
  args: readonly ScriptArg[],
): Promise<T> {
  const fn = (redis as unknown as Record<ScriptName, ScriptFn>)[name];
  return fn.call(redis, ...keys, ...args) as Promise<T>;
}
