// Lua scripts that make every deposit transition atomic, so concurrent notifications, workers and
// operators can never interleave into a double sweep or a backwards move (a swept deposit stays swept).

/**
 * KEYS: deposit hash, notification-id set, attempts list, by-time index, by-wallet index, by-tx index,
 * backfill credit of the deposit's wallet and currency, set of known accounts, event log stream, event
 * counters hash, the deposit's sweep job hash.
 * ARGV: now, notificationId, status, decision, reason, retentionMs, hasTx, amountUnits, logEvent ('1'|'0'),
 * eventLogMaxLen, eventType, raw body, counter field, nfields, pairs…
 * Answers {state, change, freshNotification, finishedOn of an existing sweep job or ''}.
 *
 * One script for everything a notification writes, with as few calls inside it as the writes allow (each
 * redis.call costs Redis CPU): the receiver pipelines one per notification of a batch.
 *
 * Backfill rule: a backfill sweep adds what it moved (in minor units) to the wallet+currency credit. A
 * deposit that would be queued while the credit covers its amount was already moved by that backfill:
 * it is recorded as swept (sweptBy=backfill) and the credit shrinks by its amount. Never a second
 * transfer, never a dead letter for want of funds.
 */
export const ACCEPT_NOTIFICATION = `
local key, notes = KEYS[1], KEYS[2]
local now, noteId, status, decision, reason = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local retention, hasTx = tonumber(ARGV[6]), ARGV[7] == '1'
local units = tonumber(ARGV[8])
local first = 15
local last = first - 1 + tonumber(ARGV[14]) * 2
-- Reads first: a key of the wrong type fails the script before it has written anything.
local state = redis.call('HGET', key, 'state')
local finishedOn = redis.call('HGET', KEYS[11], 'finishedOn') or ''
local fresh = redis.call('SADD', notes, noteId)
if ARGV[9] == '1' then
  redis.call('XADD', KEYS[9], 'MAXLEN', '~', ARGV[10], '*', 'id', noteId, 'eventType', ARGV[11], 'receivedAt', now, 'body', ARGV[12])
end
if ARGV[13] ~= '' then redis.call('HINCRBY', KEYS[10], ARGV[13], 1) end
local function field(name)
  for i = first, last, 2 do if ARGV[i] == name then return ARGV[i + 1] end end
end
local function target()
  if status == 'PENDING' then return 'pending' end
  if status == 'ON_HOLD' then return 'held' end
  if status == 'FAIL' then return 'failed' end
  if decision == 'sweep' then return 'queued' end
  return decision
end
-- The notification's fields, then the new state's: one HSET per notification (later pairs win).
local function enter(state, extra)
  local pairs = {}
  for i = first, last do pairs[#pairs + 1] = ARGV[i] end
  for i = 1, #extra do pairs[#pairs + 1] = extra[i] end
  local function put(f, v) pairs[#pairs + 1] = f; pairs[#pairs + 1] = v end
  if state == 'queued' and units > 0 then
    local credit = tonumber(redis.call('GET', KEYS[7]) or '0')
    if credit >= units then
      redis.call('DECRBY', KEYS[7], units)
      state = 'swept'
      put('sweptBy', 'backfill')
      put('sweptAt', now)
    end
  end
  put('state', state)
  put('upstreamStatus', status)
  put('updatedAt', now)
  if state == 'queued' then put('queuedAt', now) end
  if state == 'dust' or state == 'unsupported' then put('reason', reason) end
  redis.call('HSET', key, unpack(pairs))
  return state
end
-- A sweep job that has finished under the deposit's job id blocks a new one (the receiver removes it).
local function finished(state)
  if state ~= 'queued' then return '' end
  return finishedOn
end
-- Every write renews the retention of the deposit's keys; indexes drop what has expired.
if not state then
  local new = enter(target(), {'firstSeenAt', now, 'notifications', 1, 'lastNotificationId', noteId})
  local depositId = field('depositId')
  local horizon = tonumber(now) - retention
  for i = 4, 5 do
    redis.call('ZADD', KEYS[i], now, depositId)
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', horizon)
    redis.call('PEXPIRE', KEYS[i], retention)
  end
  local accountId = field('accountId')
  if accountId then redis.call('SADD', KEYS[8], accountId) end
  if hasTx then
    redis.call('SADD', KEYS[6], depositId)
    redis.call('PEXPIRE', KEYS[6], retention)
  end
  -- The attempts list does not exist yet: its writer gives it the retention.
  for i = 1, 2 do redis.call('PEXPIRE', KEYS[i], retention) end
  return {new, 'created', fresh, finished(new)}
end
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], retention) end
redis.call('HINCRBY', key, 'notifications', 1)
if state == 'pending' and status ~= 'PENDING' then
  -- The credited notification carries the final amount: it replaces what PENDING said.
  local new = enter(target(), {'lastNotificationId', noteId})
  return {new, 'transitioned', fresh, finished(new)}
end
redis.call('HSET', key, 'lastNotificationId', noteId, 'updatedAt', now)
if status == 'CLOSED' and state ~= 'pending' then
  local watched = {'amount', 'walletId', 'currency', 'accountId'}
  local have = redis.call('HMGET', key, unpack(watched))
  for j = 1, #watched do
    local said = field(watched[j])
    if said and have[j] and have[j] ~= said then
      redis.call('HSET', key, 'conflict', 'notification ' .. noteId .. ' says ' .. watched[j] .. '=' .. said .. ', record has ' .. have[j])
    end
  end
end
return {state, 'unchanged', fresh, ''}
`;

/**
 * KEYS: deposit hash. ARGV: now. Moves queued|sweeping -> sweeping and answers {'sweeping', the record's
 * field/value pairs} (one round trip for claim and read); answers {state} otherwise, {'missing'} if none.
 */
export const BEGIN_SWEEP = `
local record = redis.call('HGETALL', KEYS[1])
if #record == 0 then return {'missing'} end
local at = {}
for i = 1, #record, 2 do at[record[i]] = i end
local state = at.state and record[at.state + 1]
if state ~= 'queued' and state ~= 'sweeping' then return {state or 'missing'} end
local attempts = at.attempts and tonumber(record[at.attempts + 1]) or 0
local changes = {'state', 'sweeping', 'sweepingAt', ARGV[1], 'updatedAt', ARGV[1], 'attempts', tostring(attempts + 1)}
redis.call('HSET', KEYS[1], unpack(changes))
for i = 1, #changes, 2 do
  local f, v = changes[i], changes[i + 1]
  if at[f] then record[at[f] + 1] = v else record[#record + 1] = f; record[#record + 1] = v end
end
return {'sweeping', record}
`;

/**
 * KEYS: deposit hash. ARGV: now, nfields, field/value pairs… Money has moved, so the record says swept
 * from any state; answers the previous state ('swept' means this was a repeat and nothing changed).
 */
export const MARK_SWEPT = `
local current = redis.call('HMGET', KEYS[1], 'state', 'reason')
local state = current[1]
if not state then return 'missing' end
if state == 'swept' then return 'swept' end
local pairs = {}
for i = 3, 2 + tonumber(ARGV[2]) * 2 do pairs[#pairs + 1] = ARGV[i] end
for _, v in ipairs({'state', 'swept', 'sweptAt', ARGV[1], 'updatedAt', ARGV[1]}) do pairs[#pairs + 1] = v end
redis.call('HSET', KEYS[1], unpack(pairs))
if current[2] then redis.call('HDEL', KEYS[1], 'reason') end
return state
`;

/** KEYS: deposit hash. ARGV: now, reason. Never buries a swept deposit; answers the previous state. */
export const MARK_DEAD = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'missing' end
if state == 'swept' or state == 'dead' then return state end
redis.call('HSET', KEYS[1], 'state', 'dead', 'deadAt', ARGV[1], 'updatedAt', ARGV[1], 'reason', ARGV[2])
return state
`;

/**
 * KEYS: deposit hash. ARGV: now, operator, allowed states (comma list). An operator's replay: moves a
 * deposit in one of the allowed states back to queued. Answers the previous state, 'missing', or
 * 'refused:<state>' when the state does not allow it (a swept deposit never moves again).
 */
export const REQUEUE = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'missing' end
for allowed in string.gmatch(ARGV[3], '[^,]+') do
  if state == allowed then
    redis.call('HSET', KEYS[1], 'state', 'queued', 'queuedAt', ARGV[1], 'updatedAt', ARGV[1], 'replayedBy', ARGV[2], 'replayedAt', ARGV[1], 'previousState', state)
    redis.call('HINCRBY', KEYS[1], 'replays', 1)
    return state
  end
end
return 'refused:' .. state
`;

/**
 * KEYS: deposit hash, backfill credit of its wallet and currency. ARGV: now, amountUnits. A deposit whose
 * own sweep found no funds, while the backfill credit covers it, was moved by that backfill: swept.
 */
export const CLAIM_BACKFILL_CREDIT = `
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'queued' and state ~= 'sweeping' then return 'no' end
local units = tonumber(ARGV[2])
if units <= 0 or tonumber(redis.call('GET', KEYS[2]) or '0') < units then return 'no' end
redis.call('DECRBY', KEYS[2], units)
redis.call('HSET', KEYS[1], 'state', 'swept', 'sweptBy', 'backfill', 'sweptAt', ARGV[1], 'updatedAt', ARGV[1])
return 'claimed'
`;

/** KEYS: event log stream, event counters hash. ARGV: maxLen, notificationId, eventType, now, body, counter field. */
export const LOG_NOTIFICATION = `
if ARGV[5] ~= '' then
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'id', ARGV[2], 'eventType', ARGV[3], 'receivedAt', ARGV[4], 'body', ARGV[5])
end
redis.call('HINCRBY', KEYS[2], ARGV[6], 1)
return 1
`;
