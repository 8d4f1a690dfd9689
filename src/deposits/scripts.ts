// Lua scripts that make every deposit transition atomic, so concurrent notifications, workers and
// operators can never interleave into a double sweep or a backwards move (a swept deposit stays swept).

/** KEYS: deposit hash, notification-id set. ARGV: now, notificationId, status, decision, reason, nfields, field/value pairs… */
export const ACCEPT_NOTIFICATION = `
local key, notes = KEYS[1], KEYS[2]
local now, noteId, status, decision, reason = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local nfields = tonumber(ARGV[6])
local function target()
  if status == 'PENDING' then return 'pending' end
  if status == 'ON_HOLD' then return 'held' end
  if status == 'FAIL' then return 'failed' end
  if decision == 'sweep' then return 'queued' end
  return decision
end
local function write_fields()
  for i = 7, 6 + nfields * 2, 2 do redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end
end
local function enter(state)
  redis.call('HSET', key, 'state', state, 'upstreamStatus', status, 'updatedAt', now)
  if state == 'queued' then redis.call('HSET', key, 'queuedAt', now) end
  if state == 'dust' or state == 'unsupported' then redis.call('HSET', key, 'reason', reason) end
end
local fresh = redis.call('SADD', notes, noteId)
local state = redis.call('HGET', key, 'state')
if not state then
  write_fields()
  redis.call('HSET', key, 'firstSeenAt', now, 'notifications', 1, 'lastNotificationId', noteId)
  local new = target()
  enter(new)
  return {new, 'created', fresh}
end
redis.call('HINCRBY', key, 'notifications', 1)
redis.call('HSET', key, 'lastNotificationId', noteId, 'updatedAt', now)
if state == 'pending' and status ~= 'PENDING' then
  -- The credited notification carries the final amount: it replaces what PENDING said.
  write_fields()
  local new = target()
  enter(new)
  return {new, 'transitioned', fresh}
end
if status == 'CLOSED' and state ~= 'pending' then
  for i = 7, 6 + nfields * 2, 2 do
    local f = ARGV[i]
    if f == 'amount' or f == 'walletId' or f == 'currency' or f == 'accountId' then
      local have = redis.call('HGET', key, f)
      if have and have ~= ARGV[i + 1] then
        redis.call('HSET', key, 'conflict', 'notification ' .. noteId .. ' says ' .. f .. '=' .. ARGV[i + 1] .. ', record has ' .. have)
      end
    end
  end
end
return {state, 'unchanged', fresh}
`;

/** KEYS: deposit hash. ARGV: now. Moves queued|sweeping -> sweeping; answers the state otherwise. */
export const BEGIN_SWEEP = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'missing' end
if state == 'queued' or state == 'sweeping' then
  redis.call('HSET', KEYS[1], 'state', 'sweeping', 'sweepingAt', ARGV[1], 'updatedAt', ARGV[1])
  redis.call('HINCRBY', KEYS[1], 'attempts', 1)
  return 'sweeping'
end
return state
`;

/**
 * KEYS: deposit hash. ARGV: now, nfields, field/value pairs… Money has moved, so the record says swept
 * from any state; answers the previous state ('swept' means this was a repeat and nothing changed).
 */
export const MARK_SWEPT = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'missing' end
if state == 'swept' then return 'swept' end
local n = tonumber(ARGV[2])
for i = 3, 2 + n * 2, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[1], 'state', 'swept', 'sweptAt', ARGV[1], 'updatedAt', ARGV[1])
redis.call('HDEL', KEYS[1], 'reason')
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
