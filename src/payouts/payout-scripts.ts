// Lua scripts that move a payout atomically. They carry out what src/policy/payout-policy.ts decided:
// each checks that the payout is still in the state the decision was made from (compare-and-set), so a
// notification, an operator and a worker acting at once can never interleave into a step run twice or
// a state moving backwards. Every state change writes the history, the event stream and the counters
// in the same script. Field/value pairs, when a script takes them, are the tail after the named
// arguments (`ARGV[REST + 1]` on).
import { defineScript } from '../redis-script.js';

// Shared Lua: read the field/value tail, and record a state change (history, stream, counters).
const HELPERS = `
local function tail_pairs()
  local pairs = {}
  for i = REST + 1, #ARGV do pairs[#pairs + 1] = ARGV[i] end
  return pairs
end
-- A payout's reservation lives in the hash of the currency its money is in, in the wallet it is in:
-- setting one drops the others (K.releaseUsd/K.releaseCoin: the wallet it was in, when it moved).
local function reserve(spec, id)
  if spec == '' then return end
  redis.call('HDEL', K.reservedUsd, id)
  redis.call('HDEL', K.reservedCoin, id)
  if K.releaseUsd then redis.call('HDEL', K.releaseUsd, id) end
  if K.releaseCoin then redis.call('HDEL', K.releaseCoin, id) end
  if spec == 'release' then return end
  local at = string.find(spec, ':', 1, true)
  local currency, amount = string.sub(spec, 1, at - 1), string.sub(spec, at + 1)
  redis.call('HSET', currency == 'USD' and K.reservedUsd or K.reservedCoin, id, amount)
  redis.call('SADD', K.wallets, A.walletId)
end
local function record_change(id, from, to, event, stage, detail, now, maxLen)
  local entry = cjson.encode({at = now, from = from, to = to, event = event, stage = stage, detail = detail})
  redis.call('RPUSH', K.history, entry)
  redis.call('XADD', K.events, 'MAXLEN', '~', maxLen, '*', 'payoutId', id, 'from', from, 'to', to, 'event', event, 'stage', stage, 'detail', detail, 'at', now)
  if from ~= '' then redis.call('HINCRBY', K.states, from, -1) end
  redis.call('HINCRBY', K.states, to, 1)
end
`;

/**
 * Creates a payout unless its external id exists (answers the existing id, or 'conflict' when the
 * request differs), and unless it would take the rolling window's total over the daily limit (answers
 * the cents used). The limit is compared inside the script, so concurrent requests can never both fit.
 */
export const CREATE_PAYOUT = defineScript({
  name: 'payoutCreate',
  keys: ['payout', 'history', 'events', 'states', 'byExternal', 'byTime', 'window', 'windowAmounts'],
  args: ['now', 'payoutId', 'fingerprint', 'cents', 'limitCents', 'windowMs', 'state', 'maxLen'],
  lua: `${HELPERS}
local existing = redis.call('GET', K.byExternal)
if existing then
  if redis.call('HGET', K.payout, 'fingerprint') == A.fingerprint then return {'exists', existing} end
  return {'conflict', existing}
end
local horizon = tonumber(A.now) - tonumber(A.windowMs)
local old = redis.call('ZRANGEBYSCORE', K.window, '-inf', '(' .. horizon)
for i = 1, #old do redis.call('HDEL', K.windowAmounts, old[i]) end
redis.call('ZREMRANGEBYSCORE', K.window, '-inf', '(' .. horizon)
local used = 0
local members = redis.call('ZRANGE', K.window, 0, -1)
if #members > 0 then
  local amounts = redis.call('HMGET', K.windowAmounts, unpack(members))
  for i = 1, #amounts do used = used + (tonumber(amounts[i]) or 0) end
end
if used + tonumber(A.cents) > tonumber(A.limitCents) then return {'daily-limit', tostring(used)} end
local pairs = tail_pairs()
for _, v in ipairs({'state', A.state, 'stage', 'none', 'fingerprint', A.fingerprint, 'createdAt', A.now, 'updatedAt', A.now}) do
  pairs[#pairs + 1] = v
end
redis.call('HSET', K.payout, unpack(pairs))
redis.call('SET', K.byExternal, A.payoutId)
redis.call('ZADD', K.byTime, A.now, A.payoutId)
redis.call('ZADD', K.window, A.now, A.payoutId)
redis.call('HSET', K.windowAmounts, A.payoutId, A.cents)
record_change(A.payoutId, '', A.state, 'create', 'none', '', A.now, A.maxLen)
return {'created', A.payoutId}
`,
});

/**
 * The cents used in the rolling window ending `now` (a dry run), or of the payouts created up to
 * `through` (the worker's re-check of the daily limit before step 1; the create script enforces it).
 */
export const DAILY_USED = defineScript({
  name: 'payoutDailyUsed',
  keys: ['window', 'windowAmounts'],
  args: ['now', 'windowMs', 'through'],
  lua: `
local members = redis.call('ZRANGEBYSCORE', K.window, tonumber(A.now) - tonumber(A.windowMs), A.through)
local used = 0
if #members > 0 then
  local amounts = redis.call('HMGET', K.windowAmounts, unpack(members))
  for i = 1, #amounts do used = used + (tonumber(amounts[i]) or 0) end
end
return tostring(used)
`,
});

/**
 * Moves a payout from `expected` to `to` with the decided stage, fields and reservation (`''` leaves
 * it, `release` drops it, `CUR:amount` sets it, in the reservedUsd/reservedCoin wallet; the release
 * keys are the wallet the money was in); `releaseDaily` gives the amount back to the daily window (a
 * payout cancelled before any money moved). `absentFields` (comma list) are the guard's stored facts,
 * re-checked here: any of them set refuses the move. Answers the previous state, or 'refused:<state>'
 * (or 'missing') when the payout is no longer in `expected`, or 'guard:<field>'.
 */
export const TRANSITION = defineScript({
  name: 'payoutTransition',
  keys: [
    'payout',
    'history',
    'events',
    'states',
    'reservedUsd',
    'reservedCoin',
    'releaseUsd',
    'releaseCoin',
    'wallets',
    'window',
    'windowAmounts',
  ],
  args: [
    'absentFields',
    'walletId',
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
  ],
  lua: `${HELPERS}
local state = redis.call('HGET', K.payout, 'state')
if not state then return 'missing' end
if state ~= A.expected then return 'refused:' .. state end
for field in string.gmatch(A.absentFields, '[^,]+') do
  local value = redis.call('HGET', K.payout, field)
  if value and value ~= '' then return 'guard:' .. field end
end
local pairs = tail_pairs()
for _, v in ipairs({'state', A.to, 'stage', A.stage, 'updatedAt', A.now}) do pairs[#pairs + 1] = v end
redis.call('HSET', K.payout, unpack(pairs))
reserve(A.reservation, A.payoutId)
if A.releaseDaily == '1' then
  redis.call('ZREM', K.window, A.payoutId)
  redis.call('HDEL', K.windowAmounts, A.payoutId)
end
record_change(A.payoutId, state, A.to, A.event, A.stage, A.detail, A.now, A.maxLen)
return state
`,
});

/**
 * Stores a step's idempotency value and first-call time BEFORE the call, once: a resumed step finds
 * and resends the same value, and the first-call time bounds resends to Interlace's idempotency
 * window (`windowMs`: a step first called longer ago is refused here, atomically, whatever the caller
 * checked). The step's planned fields and its full request body (the tail, `requestField` among them)
 * are stored with it, the first time only, so a resend sends the same bytes. Marks the step in doubt
 * (`doubt`) until an answer tells what the call did. Also indexes a withdrawal's key and sets the
 * wallet reservation when given. Answers {state, calledAt, stored id, the doubt before this call,
 * stored request}; nothing is written unless the payout is in `expected` (calledAt '' then, or
 * 'window-closed' as the state when the window is past).
 */
export const BEGIN_STEP = defineScript({
  name: 'payoutBeginStep',
  keys: ['payout', 'index', 'reservedUsd', 'reservedCoin', 'wallets'],
  args: [
    'walletId',
    'now',
    'payoutId',
    'expected',
    'idField',
    'idValue',
    'calledAtField',
    'requestField',
    'step',
    'windowMs',
    'reservation',
  ],
  lua: `${HELPERS}
local state = redis.call('HGET', K.payout, 'state')
if not state then return {'missing', '', '', '', ''} end
if state ~= A.expected then return {state, '', '', '', ''} end
local calledAt = redis.call('HGET', K.payout, A.calledAtField)
if calledAt and tonumber(A.now) - tonumber(calledAt) >= tonumber(A.windowMs) then
  return {'window-closed', calledAt, '', '', ''}
end
local prior = redis.call('HGET', K.payout, 'doubt') or ''
if not calledAt then
  calledAt = A.now
  local pairs = tail_pairs()
  for _, v in ipairs({A.idField, A.idValue, A.calledAtField, calledAt}) do pairs[#pairs + 1] = v end
  redis.call('HSET', K.payout, unpack(pairs))
  if K.index ~= K.payout then redis.call('SET', K.index, A.payoutId) end
end
reserve(A.reservation, A.payoutId)
redis.call('HSET', K.payout, 'doubt', A.step)
redis.call('HINCRBY', K.payout, 'attempts', 1)
local stored = redis.call('HMGET', K.payout, A.idField, A.requestField)
return {state, calledAt, stored[1], prior, stored[2] or ''}
`,
});

/** Sets fields of a payout only while it is in `expected` (a note that changes no state). Answers 1 or 0. */
export const NOTE = defineScript({
  name: 'payoutNote',
  keys: ['payout'],
  args: ['expected'],
  lua: `${HELPERS}
if redis.call('HGET', K.payout, 'state') ~= A.expected then return 0 end
local pairs = tail_pairs()
if #pairs > 0 then redis.call('HSET', K.payout, unpack(pairs)) end
return 1
`,
});
