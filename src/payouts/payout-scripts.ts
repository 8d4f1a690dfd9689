// Lua scripts that move a payout atomically. They carry out what src/policy/payout-policy.ts decided:
// each checks that the payout is still in the state the decision was made from (compare-and-set), so a
// notification, an operator and a worker acting at once can never interleave into a step run twice or
// a state moving backwards. Every state change writes the history, the event stream and the counters
// in the same script.

/** A script with named keys and arguments; `pairs` (field/value pairs) always come last. */
export type ScriptDefinition<K extends string, A extends string> = {
  keys: readonly K[];
  args: readonly A[];
  lua: string;
};

const define = <K extends string, A extends string>(definition: ScriptDefinition<K, A>) => definition;

// Shared Lua: write a history entry and a stream entry for a state change.
const RECORD_CHANGE = `
local function record_change(id, from, to, event, stage, detail, now, maxLen)
  local entry = cjson.encode({at = now, from = from, to = to, event = event, stage = stage, detail = detail})
  redis.call('RPUSH', KEYS[2], entry)
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', maxLen, '*', 'payoutId', id, 'from', from, 'to', to, 'event', event, 'stage', stage, 'detail', detail, 'at', now)
  if from ~= '' then redis.call('HINCRBY', KEYS[4], from, -1) end
  redis.call('HINCRBY', KEYS[4], to, 1)
end
local function read_pairs(first)
  local pairs = {}
  local n = tonumber(ARGV[first])
  for i = first + 1, first + n * 2 do pairs[#pairs + 1] = ARGV[i] end
  return pairs
end
`;

/**
 * Creates a payout unless its external id exists (answers the existing id, or 'conflict' when the
 * request differs), and unless it would take the rolling window's total over the daily limit (answers
 * the total used). The limit is compared in cents, so two concurrent requests can never both fit.
 */
export const CREATE_PAYOUT = define({
  keys: ['payout', 'history', 'events', 'states', 'byExternal', 'byTime', 'window', 'windowAmounts'] as const,
  args: ['now', 'payoutId', 'fingerprint', 'cents', 'limitCents', 'windowMs', 'state', 'maxLen'] as const,
  lua: `${RECORD_CHANGE}
local now, id, fingerprint = ARGV[1], ARGV[2], ARGV[3]
local cents, limit, window = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local existing = redis.call('GET', KEYS[5])
if existing then
  if redis.call('HGET', KEYS[1], 'fingerprint') == fingerprint then return {'exists', existing} end
  return {'conflict', existing}
end
local horizon = tonumber(now) - window
local old = redis.call('ZRANGEBYSCORE', KEYS[7], '-inf', '(' .. horizon)
for i = 1, #old do redis.call('HDEL', KEYS[8], old[i]) end
redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', '(' .. horizon)
local used = 0
local members = redis.call('ZRANGE', KEYS[7], 0, -1)
if #members > 0 then
  local amounts = redis.call('HMGET', KEYS[8], unpack(members))
  for i = 1, #amounts do used = used + (tonumber(amounts[i]) or 0) end
end
if used + cents > limit then return {'daily-limit', tostring(used)} end
local pairs = read_pairs(9)
for _, v in ipairs({'state', ARGV[7], 'stage', 'none', 'fingerprint', fingerprint, 'createdAt', now, 'updatedAt', now}) do
  pairs[#pairs + 1] = v
end
redis.call('HSET', KEYS[1], unpack(pairs))
redis.call('SET', KEYS[5], id)
redis.call('ZADD', KEYS[6], now, id)
redis.call('ZADD', KEYS[7], now, id)
redis.call('HSET', KEYS[8], id, cents)
record_change(id, '', ARGV[7], 'create', 'none', '', now, ARGV[8])
return {'created', id}
`,
});

/** The cents used in the rolling window now (for a dry run; the create script is what enforces it). */
export const DAILY_USED = define({
  keys: ['window', 'windowAmounts'] as const,
  args: ['now', 'windowMs'] as const,
  lua: `
local horizon = tonumber(ARGV[1]) - tonumber(ARGV[2])
local members = redis.call('ZRANGEBYSCORE', KEYS[1], horizon, '+inf')
local used = 0
if #members > 0 then
  local amounts = redis.call('HMGET', KEYS[2], unpack(members))
  for i = 1, #amounts do used = used + (tonumber(amounts[i]) or 0) end
end
return tostring(used)
`,
});

/**
 * Moves a payout from `expected` to `to` with the decided stage, fields and reservation (`''` leaves
 * it, `release` drops it, `CUR:amount` sets it); `releaseDaily` gives the amount back to the daily
 * window (a payout cancelled before any money moved). Answers the previous state, or
 * 'refused:<state>' (or 'missing') when the payout is no longer in `expected`.
 */
export const TRANSITION = define({
  keys: ['payout', 'history', 'events', 'states', 'reservations', 'window', 'windowAmounts'] as const,
  args: [
    'now',
    'payoutId',
    'expected',
    'to',
    'event',
    'stage',
    'reservation',
    'releaseDaily',
    'detail',
    'maxLen',
  ] as const,
  lua: `${RECORD_CHANGE}
local now, id, expected, to, event, stage = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'missing' end
if state ~= expected then return 'refused:' .. state end
local pairs = read_pairs(11)
for _, v in ipairs({'state', to, 'stage', stage, 'updatedAt', now}) do pairs[#pairs + 1] = v end
redis.call('HSET', KEYS[1], unpack(pairs))
if ARGV[7] == 'release' then redis.call('HDEL', KEYS[5], id)
elseif ARGV[7] ~= '' then redis.call('HSET', KEYS[5], id, ARGV[7]) end
if ARGV[8] == '1' then
  redis.call('ZREM', KEYS[6], id)
  redis.call('HDEL', KEYS[7], id)
end
record_change(id, state, to, event, stage, ARGV[9], now, ARGV[10])
return state
`,
});

/**
 * Stores a step's idempotency value and first-call time BEFORE the call, once: a resumed step finds
 * and resends the same value, and the first-call time bounds resends to Interlace's 90-day window.
 * The step's planned request fields (pairs) are stored with it, the first time only. Also indexes a
 * withdrawal's key and sets the wallet reservation when given. Answers {state,
 * calledAt}; nothing is written unless the payout is in `expected`.
 */
export const BEGIN_STEP = define({
  keys: ['payout', 'index', 'reservations'] as const,
  args: ['now', 'payoutId', 'expected', 'idField', 'idValue', 'calledAtField', 'reservation'] as const,
  lua: `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing', '', ''} end
if state ~= ARGV[3] then return {state, '', ''} end
local calledAt = redis.call('HGET', KEYS[1], ARGV[6])
if not calledAt then
  calledAt = ARGV[1]
  -- The step's request (amounts, gas) is fixed with its id: a resend must send the same body.
  local pairs = {ARGV[4], ARGV[5], ARGV[6], calledAt}
  for i = 9, 8 + tonumber(ARGV[8]) * 2 do pairs[#pairs + 1] = ARGV[i] end
  redis.call('HSET', KEYS[1], unpack(pairs))
  if KEYS[2] ~= KEYS[1] then redis.call('SET', KEYS[2], ARGV[2]) end
end
if ARGV[7] ~= '' then redis.call('HSET', KEYS[3], ARGV[2], ARGV[7]) end
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
return {state, calledAt, redis.call('HGET', KEYS[1], ARGV[4])}
`,
});

/** Sets fields of a payout only while it is in `expected` (a note that changes no state). Answers 1 or 0. */
export const NOTE = define({
  keys: ['payout'] as const,
  args: ['expected'] as const,
  lua: `
if redis.call('HGET', KEYS[1], 'state') ~= ARGV[1] then return 0 end
local pairs = {}
for i = 3, 2 + tonumber(ARGV[2]) * 2 do pairs[#pairs + 1] = ARGV[i] end
if #pairs > 0 then redis.call('HSET', KEYS[1], unpack(pairs)) end
return 1
`,
});

export const PAYOUT_SCRIPTS = {
  isweepPayoutCreate: CREATE_PAYOUT,
  isweepPayoutDailyUsed: DAILY_USED,
  isweepPayoutTransition: TRANSITION,
  isweepPayoutBeginStep: BEGIN_STEP,
  isweepPayoutNote: NOTE,
} as const;
