/**
 * The Lua scripts behind every job change. Each touches the keys of one hash slot (keys.ts):
 *
 * - Control scripts (KEYS: keys.ts controlKeyList, all in `{bullmq}`) own a job's state: they
 *   compare-and-set its state hash and move its index entries in the same step, so the state and what
 *   lists and counts it never disagree, and two racing changes (a cancel and a worker's start, a worker that
 *   lost its BullMQ lock and the one that took the job over) are decided by whichever runs first.
 * - Data scripts (KEYS: keys.ts dataKeyList, the job's own `{<id>}` slot) write what a run produces:
 *   iterates, checkpoint and progress guarded by the running attempt's token, the result, the event
 *   stream. They never decide a state.
 *
 * A change that needs both runs them in an order whose every prefix is safe (store.ts says which).
 * Scores and times are passed and stored as strings: Lua numbers print with 14 digits.
 */
import type { RedisClient } from './redis.js';
import { JOB_STATES } from './types.js';

const CONTROL_KEYS = 17;
const DATA_KEYS = 6;

const STATE_NAMES = `{${JOB_STATES.map((s) => `'${s}'`).join(', ')}}`;

/** How long past its expiry a state hash and the indexes live should prune never run (ms). */
export const CONTROL_GRACE_MS = 3600 * 1000;

const CONTROL_HELPERS = `
local STATES = ${STATE_NAMES}
local FINISHED = { succeeded = true, failed = true, cancelled = true }
local GRACE = ${CONTROL_GRACE_MS}
local function get(name) return redis.call('HGET', KEYS[1], name) end
local function int(x) return string.format('%d', x) end
-- the job listed under \`state\` only (global and owner's sets), no longer a pending reservation
local function list(id, state)
  local score = get('score')
  for s = 1, #STATES do
    if STATES[s] == state then
      redis.call('ZADD', KEYS[2 + s], score, id)
      redis.call('ZADD', KEYS[9 + s], score, id)
    else
      redis.call('ZREM', KEYS[2 + s], id)
      redis.call('ZREM', KEYS[9 + s], id)
    end
  end
  redis.call('ZADD', KEYS[2], score, id)
  redis.call('ZADD', KEYS[9], score, id)
  redis.call('ZREM', KEYS[15], id)
end
local function unlist(id)
  for i = 2, 15 do redis.call('ZREM', KEYS[i], id) end
end
local function setState(id, state)
  redis.call('HSET', KEYS[1], 'state', state)
  list(id, state)
end
-- the job expires \`seconds\` after \`now\` (ms); prune deletes it then. The indexes live a full ttl past
-- their last change (they only ever lengthen).
local function touch(id, now, seconds, ttl)
  local expiresAt = int(now + seconds * 1000)
  redis.call('HSET', KEYS[1], 'expiresAt', expiresAt)
  redis.call('ZADD', KEYS[8], expiresAt, id)
  redis.call('PEXPIREAT', KEYS[1], int(now + seconds * 1000 + GRACE))
  for i = 2, 15 do redis.call('PEXPIRE', KEYS[i], int(ttl * 1000 + GRACE)) end
end
-- the job's Idempotency-Key goes, if it still names this job (a later submission may have taken it)
local function forgetKey(id)
  local record = redis.call('GET', KEYS[16])
  if record and cjson.decode(record).id == id then redis.call('DEL', KEYS[16]) end
end
`;

/**
 * A submission asks for a place, and its job's state hash is made (provisional: not listed, not visible,
 * expiring with the provisional TTL unless COMMIT follows). Checks the owner's quota (queued + running +
 * admitted, taken in the same step, so two submissions cannot both take the last place) and claims the
 * Idempotency-Key. ARGV: id, max active (0: no limit), now, provisional ttl, idempotency record ('' for
 * none), the record to replace ('' for none: only a missing key is claimed), ttl, then the state hash's
 * field/value pairs. Returns {'ok', score}, {'quota', active} or {'taken', the key's record}.
 */
const ADMIT = `${CONTROL_HELPERS}
local id, now, provisional, ttl = ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[7])
redis.call('ZREMRANGEBYSCORE', KEYS[15], '-inf', ARGV[3])
local max = tonumber(ARGV[2])
if max > 0 then
  local active = redis.call('ZCARD', KEYS[10]) + redis.call('ZCARD', KEYS[11]) + redis.call('ZCARD', KEYS[15])
  if active >= max then return {'quota', tostring(active)} end
end
if ARGV[5] ~= '' then
  local current = redis.call('GET', KEYS[16])
  if current and current ~= ARGV[6] then return {'taken', current} end
  redis.call('SET', KEYS[16], ARGV[5], 'EX', provisional)
end
-- newest first: creation time, then a counter for jobs created in the same millisecond
local score = int(now * 1000 + redis.call('INCR', KEYS[17]) % 1000)
redis.call('PEXPIRE', KEYS[17], int(ttl * 1000 + GRACE))
redis.call('HSET', KEYS[1], 'score', score, 'provisional', '1', unpack(ARGV, 8))
redis.call('ZADD', KEYS[15], int(now + provisional * 1000), id)
touch(id, now, provisional, ttl)
return {'ok', score}
`;

/**
 * A submission is complete: its job is listed as queued with the full TTL, and its Idempotency-Key (if it
 * still names the job) lives as long. A worker's START may have done the listing first. ARGV: id, now, ttl,
 * idempotency record ('' for none). Returns the job's state, '' when it is gone (expired, rolled back).
 */
const COMMIT = `${CONTROL_HELPERS}
local id, now, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local state = get('state')
if not state then return '' end
if redis.call('HDEL', KEYS[1], 'provisional') == 1 then
  list(id, state)
  touch(id, now, ttl, ttl)
end
if ARGV[4] ~= '' and redis.call('GET', KEYS[16]) == ARGV[4] then redis.call('EXPIRE', KEYS[16], ttl) end
return state
`;

/** A submission failed: its job, place and Idempotency-Key (if still its own) go. ARGV: id, record. */
const RELEASE = `${CONTROL_HELPERS}
redis.call('DEL', KEYS[1])
unlist(ARGV[1])
redis.call('ZREM', KEYS[8], ARGV[1])
if ARGV[2] ~= '' and redis.call('GET', KEYS[16]) == ARGV[2] then redis.call('DEL', KEYS[16]) end
return 1
`;

/**
 * A worker takes a job. ARGV: id, now, ttl, token, attempt, holder, recordLimit. Returns {outcome, the
 * state it had}; outcome is missing (expired or deleted), finished or started. A provisional job (its
 * submission has not completed yet, but BullMQ has it, so it got that far) is listed from here on.
 */
const START = `${CONTROL_HELPERS}
local id, now, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local state = get('state')
if not state then return {'missing', ''} end
if FINISHED[state] then return {'finished', state} end
redis.call('HDEL', KEYS[1], 'provisional')
redis.call('HSET', KEYS[1], 'token', ARGV[4], 'attempts', ARGV[5], 'holder', ARGV[6], 'recordLimit', ARGV[7])
redis.call('HSETNX', KEYS[1], 'startedAt', ARGV[2])
setState(id, 'running')
touch(id, now, ttl, ttl)
return {'started', state}
`;

/**
 * The end of a job. ARGV: id, now, ttl, token ('' = whoever holds it: BullMQ itself failed the job),
 * state, error JSON ('' for none). Returns 1, or 0 when it was finished already or another attempt holds it.
 * FINISH_TIMED (18 keys: the control keys, then the solve-time histogram) also adds the solve's time to
 * the histogram when it finishes the job, in the same step. ARGV 7 and 8: the bucket's field, the seconds.
 */
const FINISH = `${CONTROL_HELPERS}
local id, now, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local state = get('state')
if not state or FINISHED[state] then return 0 end
if ARGV[4] ~= '' and get('token') ~= ARGV[4] then return 0 end
redis.call('HSET', KEYS[1], 'finishedAt', ARGV[2])
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[6]) end
redis.call('HDEL', KEYS[1], 'token', 'provisional')
setState(id, ARGV[5])
touch(id, now, ttl, ttl)
if KEYS[18] and ARGV[7] then
  redis.call('HINCRBY', KEYS[18], ARGV[7], 1)
  redis.call('HINCRBY', KEYS[18], 'count', 1)
  redis.call('HINCRBYFLOAT', KEYS[18], 'sum', ARGV[8])
  redis.call('EXPIRE', KEYS[18], ttl)
end
return 1
`;

/** The attempt holding \`token\` gives the job back: queued again. ARGV: id, now, ttl, token. Returns 1 or 0. */
const REQUEUE = `${CONTROL_HELPERS}
if get('token') ~= ARGV[4] then return 0 end
redis.call('HDEL', KEYS[1], 'token')
setState(ARGV[1], 'queued')
touch(ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[3]))
return 1
`;

/**
 * BullMQ found the job's worker dead (its lock expired) and put it back in the wait list: queued until a
 * worker takes it, if the attempt that stalled still holds it (one that has taken it since has a higher
 * attempt number). ARGV: id, now, ttl, attempt. Returns 1 or 0.
 */
const STALLED = `${CONTROL_HELPERS}
if get('state') ~= 'running' or get('attempts') ~= ARGV[4] then return 0 end
redis.call('HDEL', KEYS[1], 'token')
setState(ARGV[1], 'queued')
touch(ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[3]))
return 1
`;

/**
 * A client cancels. A queued job is cancelled here and now; a running one is left to its worker (the
 * caller raises the job's cancel flag). ARGV: id, now, ttl, error JSON. Returns missing, finished, running
 * or cancelled.
 */
const CANCEL = `${CONTROL_HELPERS}
local state = get('state')
if not state then return 'missing' end
if FINISHED[state] then return 'finished' end
if state == 'running' then return 'running' end
redis.call('HSET', KEYS[1], 'finishedAt', ARGV[2], 'error', ARGV[4])
setState(ARGV[1], 'cancelled')
touch(ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[3]))
return 'cancelled'
`;

/** Deletes a finished job's state and index entries, if \`owner\` owns it. ARGV: id, owner. Returns
 * not-found, running or deleted. */
const REMOVE = `${CONTROL_HELPERS}
local state = get('state')
if not state or get('owner') ~= ARGV[2] or get('provisional') then return 'not-found' end
if not FINISHED[state] then return 'running' end
redis.call('DEL', KEYS[1])
unlist(ARGV[1])
redis.call('ZREM', KEYS[8], ARGV[1])
forgetKey(ARGV[1])
return 'deleted'
`;

/**
 * Deletes a job whose time is up (its expiresAt at or before ARGV[2], ms), unless it is still work to do: a
 * queued or running job (a long backlog, a long solve) gets another ttl instead. ARGV: id, now, ttl.
 * Returns 1 (deleted), 2 (extended: the caller extends its data too) or 0.
 */
const PRUNE = `${CONTROL_HELPERS}
local expiresAt = get('expiresAt')
if expiresAt and tonumber(expiresAt) > tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[8], expiresAt, ARGV[1])
  return 0
end
local state = get('state')
if state and not FINISHED[state] and not get('provisional') then
  touch(ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[3]))
  return 2
end
redis.call('DEL', KEYS[1])
unlist(ARGV[1])
redis.call('ZREM', KEYS[8], ARGV[1])
forgetKey(ARGV[1])
return 1
`;

const DATA_HELPERS = `
local function expireAll(ttl)
  for i = 1, #KEYS do redis.call('EXPIRE', KEYS[i], ttl) end
end
-- Wakes whoever follows the job (wakeups.ts): the channel is named like the key it announces, so it
-- has the job's hash tag (its slot) in a Redis Cluster. Redis 7 only (SPUBLISH); older servers get no push.
local function announce(channel, message)
  if redis.REDIS_VERSION_NUM then redis.call('SPUBLISH', channel, message) end
end
local function emit(maxlen, kind, data)
  announce(KEYS[4], redis.call('XADD', KEYS[4], 'MAXLEN', '~', maxlen, '*', 'type', kind, 'data', data))
end
-- an iterate record is a JSON array whose first element is its iteration number
local function recordIteration(record) return tonumber(string.match(record, '^%[(%d+)')) end
local function lastRecorded()
  local record = redis.call('LINDEX', KEYS[2], -1)
  if record then return recordIteration(record) end
  return -1
end
local function dropCheckpoint()
  redis.call('HDEL', KEYS[5], 'checkpoint', 'checkpointRecord', 'checkpointIteration')
end
-- A batch of iterates and the checkpoint they end at (PROGRESS, SEAL_BATCH). ARGV[at] to ARGV[at + 4]:
-- progress JSON, checkpoint JSON, checkpoint iteration, checkpoint record, truncated (1/0); the records
-- follow. Idempotent: records at or before the last stored iteration, and a checkpoint not past the
-- stored one, are skipped.
local function storeBatch(maxlen, at)
  local last = lastRecorded()
  local fresh = {}
  for i = at + 5, #ARGV do
    local it = recordIteration(ARGV[i])
    if it > last then
      fresh[#fresh + 1] = ARGV[i]
      last = it
    end
  end
  for i = 1, #fresh, 1000 do
    redis.call('RPUSH', KEYS[2], unpack(fresh, i, math.min(i + 999, #fresh)))
  end
  if ARGV[at + 1] ~= '' then
    local stored = tonumber(redis.call('HGET', KEYS[5], 'checkpointIteration') or '-1')
    if tonumber(ARGV[at + 2]) > stored then
      redis.call('HSET', KEYS[5], 'checkpoint', ARGV[at + 1], 'checkpointIteration', ARGV[at + 2],
        'checkpointRecord', ARGV[at + 3], 'progress', ARGV[at])
      emit(maxlen, 'progress', ARGV[at])
    end
  end
  if ARGV[at + 4] == '1' then redis.call('HSET', KEYS[5], 'truncated', '1') end
end
`;

/**
 * A submission writes its job's data, with the provisional TTL: the run hash, the first event, and the
 * problem blob unless it was written in pieces before. ARGV: provisional ttl, maxlen, the event JSON, the
 * blob ('' when written already). One script, not a MULTI: the same single-slot step, without the cost of
 * a client-side transaction object per submission. Returns 1.
 */
const CREATE = `${DATA_HELPERS}
local ttl = ARGV[1]
if ARGV[4] ~= '' then redis.call('SET', KEYS[1], ARGV[4], 'EX', ttl) end
redis.call('HSET', KEYS[5], 'resumes', '0')
redis.call('EXPIRE', KEYS[5], ttl)
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[2], '*', 'type', 'state', 'data', ARGV[3])
redis.call('EXPIRE', KEYS[4], ttl)
return 1
`;

/**
 * What a view of the job needs from its data, in one call: {progress, resumes, truncated ('' for none),
 * the iterates count, the result JSON ('' for none, or not asked for)}. ARGV: 1 to read the result.
 */
const READ = `
local run = redis.call('HMGET', KEYS[5], 'progress', 'resumes', 'truncated')
local result = ''
if ARGV[1] == '1' then result = redis.call('GET', KEYS[3]) or '' end
return {run[1] or '', run[2] or '', run[3] or '', redis.call('LLEN', KEYS[2]), result}
`;

/**
 * An event stream's next page and whether it has ended: {entries after ARGV[1] (XRANGE, at most ARGV[2]),
 * the run hash's `closed` field ('' while open), 1 if the run hash exists else 0}.
 */
const EVENTS = `
return {redis.call('XRANGE', KEYS[4], ARGV[1], '+', 'COUNT', ARGV[2]),
  redis.call('HGET', KEYS[5], 'closed') or '', redis.call('EXISTS', KEYS[5])}
`;

/**
 * A submission is complete: the job's data (written with the provisional TTL) gets the full one. ARGV: ttl.
 * Returns 1, or 0 when the data is gone.
 */
const CONFIRM = `${DATA_HELPERS}
if redis.call('EXISTS', KEYS[5]) == 0 then return 0 end
expireAll(tonumber(ARGV[1]))
return 1
`;

/**
 * The attempt that START let run takes the job's data. ARGV: token, ttl, maxlen, attempt, record.every,
 * recorded-iterates limit, and (optional) the largest problem blob to return (bytes; 0 or absent: none).
 * Returns {outcome, checkpoint JSON, checkpoint record, recorded, last recorded iteration, resumes, the
 * problem blob or '' (when started and it is no larger than asked: the worker then needs no GET)};
 * outcome is no-problem (the problem blob is gone: the attempt should fail the job), cancel (a cancel was
 * requested: the attempt should end the job cancelled) or started.
 *
 * A job with a checkpoint resumes from it: its iterates stay, trimmed to end at or before the checkpoint
 * and without a tail that was kept only as the previous run's last iterate (not an every-th one, or one
 * past the limit), so the resumed run continues the list exactly as an uninterrupted run would have. A
 * result left by an attempt that lost the job before it could finish it goes.
 */
const DATA_START = `${DATA_HELPERS}
local ttl, maxlen = tonumber(ARGV[2]), ARGV[3]
local resumes = tonumber(redis.call('HGET', KEYS[5], 'resumes') or '0')
redis.call('HSET', KEYS[5], 'token', ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then
  expireAll(ttl)
  return {'no-problem', '', '', 0, -1, resumes}
end
redis.call('DEL', KEYS[3])
if redis.call('EXISTS', KEYS[6]) == 1 then
  expireAll(ttl)
  return {'cancel', '', '', redis.call('LLEN', KEYS[2]), lastRecorded(), resumes}
end
local checkpoint = redis.call('HGET', KEYS[5], 'checkpoint')
local event = '{"state":"running","attempt":' .. ARGV[4] .. '}'
if checkpoint then
  local c = tonumber(redis.call('HGET', KEYS[5], 'checkpointIteration'))
  local every, limit = tonumber(ARGV[5]), tonumber(ARGV[6])
  while redis.call('LLEN', KEYS[2]) > 0 and lastRecorded() > c do redis.call('RPOP', KEYS[2]) end
  if redis.call('LLEN', KEYS[2]) >= limit then
    redis.call('LTRIM', KEYS[2], 0, limit - 2)
  elseif lastRecorded() == c and c % every ~= 0 then
    redis.call('RPOP', KEYS[2])
  end
  resumes = redis.call('HINCRBY', KEYS[5], 'resumes', 1)
  event = '{"state":"running","attempt":' .. ARGV[4] .. ',"resumedFrom":' .. string.format('%d', c) .. '}'
else
  -- no checkpoint: nothing was recorded that a run could continue from
  redis.call('HDEL', KEYS[5], 'progress', 'truncated')
  redis.call('DEL', KEYS[2])
end
emit(maxlen, 'state', event)
expireAll(ttl)
local blob = ''
local inline = tonumber(ARGV[7] or '0')
if inline > 0 and redis.call('STRLEN', KEYS[1]) <= inline then blob = redis.call('GET', KEYS[1]) end
return {'started', checkpoint or '', redis.call('HGET', KEYS[5], 'checkpointRecord') or '',
  redis.call('LLEN', KEYS[2]), lastRecorded(), resumes, blob}
`;

/**
 * A batch of iterates from the attempt holding \`token\`, with the checkpoint of the batch's last iterate.
 * ARGV: token, ttl, maxlen, progress JSON, checkpoint JSON, checkpoint iteration, checkpoint record,
 * truncated (1/0), then the records ('' for progress and checkpoint: none in this call). Idempotent (a
 * command resent after a reconnect changes nothing): records at or before the last stored iteration and a
 * checkpoint not past the stored one are skipped. Returns {the number of recorded iterates, 1 if a cancel
 * was requested else 0}, or {-1, 0} when another attempt owns the job (this one should stop).
 */
const PROGRESS = `${DATA_HELPERS}
if redis.call('HGET', KEYS[5], 'token') ~= ARGV[1] then return {-1, 0} end
local ttl, maxlen = tonumber(ARGV[2]), ARGV[3]
storeBatch(maxlen, 4)
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('EXPIRE', KEYS[4], ttl)
return {redis.call('LLEN', KEYS[2]), redis.call('EXISTS', KEYS[6])}
`;

/**
 * The attempt holding \`token\` ('' = any: BullMQ failed the job) stores what it ends with, before FINISH
 * decides the state: the result and the last progress. ARGV: token, ttl, result JSON, progress JSON (''
 * for none). Returns 1, or 0 when another attempt has taken the job's data.
 */
const SEAL = `${DATA_HELPERS}
if ARGV[1] ~= '' and redis.call('HGET', KEYS[5], 'token') ~= ARGV[1] then return 0 end
if ARGV[3] ~= '' then redis.call('SET', KEYS[3], ARGV[3]) end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[5], 'progress', ARGV[4]) end
expireAll(tonumber(ARGV[2]))
return 1
`;

/**
 * SEAL with the solve's last batch of iterates (what PROGRESS would have written just before it): one
 * call instead of two at the end of a job. ARGV: token, ttl, result JSON, progress JSON ('' for none),
 * maxlen, then PROGRESS's batch arguments (from its 4th on: progress, checkpoint, checkpoint iteration,
 * checkpoint record, truncated, records). Returns {1, the number of recorded iterates}, or {0, 0} when
 * another attempt has taken the job's data.
 */
const SEAL_BATCH = `${DATA_HELPERS}
if redis.call('HGET', KEYS[5], 'token') ~= ARGV[1] then return {0, 0} end
storeBatch(ARGV[5], 6)
if ARGV[3] ~= '' then redis.call('SET', KEYS[3], ARGV[3]) end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[5], 'progress', ARGV[4]) end
expireAll(tonumber(ARGV[2]))
return {1, redis.call('LLEN', KEYS[2])}
`;

/**
 * After FINISH (or CANCEL) decided the job's end: the state and done events are written and announced,
 * once (\`closed\` remembers it: a worker that finds a finished job from BullMQ closes it again, in case
 * the one that finished it died first). The problem blob, cancel flag and checkpoint go (no reader needs
 * them any more) and the data's TTL restarts. ARGV: ttl, maxlen, state, state-event, done-event. Returns 1,
 * or 0 when it was closed already or its data is gone.
 */
const CLOSE = `${DATA_HELPERS}
if redis.call('EXISTS', KEYS[5]) == 0 or redis.call('HEXISTS', KEYS[5], 'closed') == 1 then return 0 end
redis.call('HSET', KEYS[5], 'closed', ARGV[3])
redis.call('HDEL', KEYS[5], 'token')
dropCheckpoint()
redis.call('DEL', KEYS[1], KEYS[6])
emit(ARGV[2], 'state', ARGV[4])
emit(ARGV[2], 'done', ARGV[5])
expireAll(tonumber(ARGV[1]))
return 1
`;

/** A retry after an internal error starts over: the attempt holding \`token\` drops what it recorded. ARGV:
 * token. Returns 1 or 0. */
const RESET = `${DATA_HELPERS}
if redis.call('HGET', KEYS[5], 'token') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[5], 'progress', 'truncated')
dropCheckpoint()
redis.call('DEL', KEYS[2])
return 1
`;

/** Asks a running job to stop: the flag its worker's next PROGRESS reply carries, announced on the channel
 * of the flag's name (the worker follows it). ARGV: ttl. */
const FLAG = `${DATA_HELPERS}
redis.call('SET', KEYS[6], '1', 'EX', ARGV[1])
announce(KEYS[6], '1')
return 1
`;

/** A state event (after a control change that has no data of its own), if the job's stream still exists.
 * ARGV: maxlen, event JSON. */
const EMIT = `${DATA_HELPERS}
if redis.call('EXISTS', KEYS[4]) == 0 then return 0 end
emit(ARGV[1], 'state', ARGV[2])
return 1
`;

const SCRIPTS = {
  levinvAdmit: { numberOfKeys: CONTROL_KEYS, lua: ADMIT },
  levinvCommit: { numberOfKeys: CONTROL_KEYS, lua: COMMIT },
  levinvRelease: { numberOfKeys: CONTROL_KEYS, lua: RELEASE },
  levinvStart: { numberOfKeys: CONTROL_KEYS, lua: START },
  levinvFinish: { numberOfKeys: CONTROL_KEYS, lua: FINISH },
  levinvFinishTimed: { numberOfKeys: CONTROL_KEYS + 1, lua: FINISH },
  levinvRequeue: { numberOfKeys: CONTROL_KEYS, lua: REQUEUE },
  levinvStalled: { numberOfKeys: CONTROL_KEYS, lua: STALLED },
  levinvCancel: { numberOfKeys: CONTROL_KEYS, lua: CANCEL },
  levinvRemove: { numberOfKeys: CONTROL_KEYS, lua: REMOVE },
  levinvPrune: { numberOfKeys: CONTROL_KEYS, lua: PRUNE },
  levinvCreate: { numberOfKeys: DATA_KEYS, lua: CREATE },
  levinvRead: { numberOfKeys: DATA_KEYS, lua: READ },
  levinvEvents: { numberOfKeys: DATA_KEYS, lua: EVENTS },
  levinvConfirm: { numberOfKeys: DATA_KEYS, lua: CONFIRM },
  levinvDataStart: { numberOfKeys: DATA_KEYS, lua: DATA_START },
  levinvProgress: { numberOfKeys: DATA_KEYS, lua: PROGRESS },
  levinvSeal: { numberOfKeys: DATA_KEYS, lua: SEAL },
  levinvSealBatch: { numberOfKeys: DATA_KEYS, lua: SEAL_BATCH },
  levinvClose: { numberOfKeys: DATA_KEYS, lua: CLOSE },
  levinvReset: { numberOfKeys: DATA_KEYS, lua: RESET },
  levinvFlag: { numberOfKeys: DATA_KEYS, lua: FLAG },
  levinvEmit: { numberOfKeys: DATA_KEYS, lua: EMIT },
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

/** runScript, with every string of the reply as a Buffer (ioredis's `<name>Buffer` variant). */
export function runScriptBuffer<T>(
  redis: RedisClient,
  name: ScriptName,
  keys: readonly string[],
  args: readonly ScriptArg[],
): Promise<T> {
  const fn = (redis as unknown as Record<string, ScriptFn>)[`${name}Buffer`];
  return fn.call(redis, ...keys, ...args) as Promise<T>;
}
