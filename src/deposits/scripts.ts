// Lua scripts that make every deposit transition atomic, so concurrent notifications, workers and
// operators can never interleave into a double sweep or a backwards move. The scripts hold no money
// rule of their own: each call passes the rows of its event from the policy's transition table
// (src/policy/deposit-policy.ts, encoded `from=to/action,...`), and the script looks up the state it
// read and carries out the row's action. test/deposits/policy-scripts.test.ts runs the table against them.
import { defineScript } from '../redis-script.js';

/** Lua: the row of the state `from` in an encoded event (`rows`, default `A.rows`): to, action. */
const ROW = `
local function row(from, rows)
  return string.match(',' .. (rows or A.rows) .. ',', ',' .. from .. '=([%a-]+)/([%a-]+),')
end
`;

/**
 * Lua: the merchant events of a state change (the policy's merchantEventsFor, encoded in
 * `A.merchantEvents` as `new=type;state=type,...`), written to the outbox stream in the same script as
 * the change, with a snapshot of the record as it is now. Nothing is written when `A.emit` is not '1'
 * (MERCHANT_WEBHOOK_URL unset). Call it after the record's HSET.
 */
const EMIT = `
local function emitMerchant(from, to, depositId)
  if A.emit ~= '1' or from == to then return end
  local kinds = {}
  if from == 'new' then kinds[#kinds + 1] = string.match(A.merchantEvents, '^new=([%a.]+);') end
  local entries = string.match(A.merchantEvents, ';(.*)$') or ''
  local entered = string.match(',' .. entries .. ',', ',' .. to .. '=([%a.]+),')
  if entered then kinds[#kinds + 1] = entered end
  if #kinds == 0 then return end
  local record = redis.call('HGETALL', K.deposit)
  local snapshot = {}
  for i = 1, #record, 2 do snapshot[record[i]] = record[i + 1] end
  local body = cjson.encode(snapshot)
  for _, kind in ipairs(kinds) do
    -- The state entered names the event (its webhook-id) with the deposit id and type: the same change
    -- made again, after Redis lost it, is the same event (src/merchant-events/merchant-event.ts).
    redis.call('XADD', K.outbox, '*', 'type', kind, 'depositId', depositId, 'state', to, 'at', A.now, 'deposit', body)
  end
end
`;

/**
 * Lua: retention of a deposit's keys after a write. A held deposit never expires while held (an
 * operator must see it however old) and is listed in the never-trimmed held index; any other state
 * gets LEDGER_RETENTION_DAYS again.
 */
const RETAIN = `
local function retain(from, to, depositId)
  local own = {K.deposit, K.notes, K.attempts}
  if to == 'held' then
    redis.call('ZADD', K.held, 'NX', A.now, depositId)
    for i = 1, 3 do redis.call('PERSIST', own[i]) end
    return
  end
  if from == 'held' then redis.call('ZREM', K.held, depositId) end
  for i = 1, 3 do redis.call('PEXPIRE', own[i], A.retention) end
end
`;

/**
 * Records one notification: event log, counters and the ledger move, in one script with as few calls
 * inside it as the writes allow (the receiver pipelines one per notification of a batch). `rest` is the
 * notification's field/value pairs. Answers {state, change, freshNotification, finishedOn of a finished
 * sweep job under the deposit's job id when the deposit is queued, else ''}.
 *
 * A deposit with no record that the swept-ids record knows is rebuilt as swept: a replay after the
 * ledger record expired never queues a second sweep.
 */
export const ACCEPT_NOTIFICATION = defineScript({
  name: 'accept',
  keys: [
    'deposit',
    'notes',
    'attempts',
    'byTime',
    'byWallet',
    'byTx',
    'held',
    'accounts',
    'eventCounts',
    'job',
    'sweptIds',
    'owner',
    'outbox',
  ],
  args: [
    'now',
    'noteId',
    'noteKey',
    'status',
    'reason',
    'rows',
    'unownedRows',
    'unownedReason',
    'ownerPrefix',
    'ownedModes',
    'externalIndex',
    'emit',
    'merchantEvents',
    'retention',
    'hasTx',
    'counterField',
  ],
  lua: `
${ROW}
${RETAIN}
${EMIT}
local now, noteId, status, reason = A.now, A.noteId, A.status, A.reason
local function field(name)
  for i = REST + 1, #ARGV, 2 do if ARGV[i] == name then return ARGV[i + 1] end end
end
local depositId = field('depositId')
-- Reads first: a key of the wrong type fails the script before it has written anything.
local state = redis.call('HGET', K.deposit, 'state')
local finishedOn = redis.call('HGET', K.job, 'finishedOn') or ''
local sweptBy = (not state) and redis.call('HGET', K.sweptIds, depositId)
-- The wallet's owner record (the wallet store's): who the deposit belongs to, and whether the service
-- created the wallet at all. Without one (or with one whose mode the policy's ownedModes does not
-- count, e.g. a gateway master wallet after INTERLACE_MODE=mor) the policy's rows for an unowned
-- wallet apply. The deposit's own wallet (the record's walletId: where its money is) decides, unless
-- this notification's row takes its fields (create/replace); a conflicting notification naming another
-- wallet never hands the deposit to that wallet's customer.
local function ownerOf(key)
  local o = redis.call('HMGET', key, 'id', 'external_id', 'name', 'mode')
  local counted = o[1] and string.find(',' .. A.ownedModes .. ',', ',' .. (o[4] or '') .. ',', 1, true)
  return o, counted and true or false
end
local function rowsFor(isOwned)
  if not isOwned and A.unownedRows ~= '' then return A.unownedRows, A.unownedReason end
  return A.rows, A.reason
end
local saidWallet = field('walletId') or ''
local ownWallet = state and redis.call('HGET', K.deposit, 'walletId') or false
if ownWallet == saidWallet then ownWallet = false end
-- The derived key shares the prefix (and a hash-tagged prefix's slot) with every other key here.
local owner, owned = ownerOf(ownWallet and (A.ownerPrefix .. ownWallet) or K.owner)
local rows
rows, reason = rowsFor(owned)
local from = state or (sweptBy and 'swept') or 'new'
local to, action = row(from, rows)
if not to then return redis.error_reply('no transition for ' .. from) end
if ownWallet and (action == 'create' or action == 'replace') then
  -- The row takes this notification's fields, its walletId included: its wallet's owner decides.
  local o2, owned2 = ownerOf(K.owner)
  local rows2, reason2 = rowsFor(owned2)
  local to2, action2 = row(from, rows2)
  if action2 == 'create' or action2 == 'replace' then
    owner, owned, rows, reason, to, action = o2, owned2, rows2, reason2, to2, action2
  end
end

-- Only the signed resource is deduplicated on (noteKey, a digest of it): the envelope id is not signed,
-- and a captured notification replayed under new ids must not grow a held deposit's set without bound.
-- A swept deposit's notification keys are not kept (MARK_SWEPT drops them): a later one is a duplicate.
local fresh = (state == 'swept') and 0 or redis.call('SADD', K.notes, A.noteKey)
if A.counterField ~= '' then redis.call('HINCRBY', K.eventCounts, A.counterField, 1) end

-- One HSET per notification: the notification's fields when the row takes them, then the state's.
local pairs = {}
local function put(f, v) pairs[#pairs + 1] = f; pairs[#pairs + 1] = v end
local takesFields = action == 'create' or action == 'replace' or not state
if takesFields then
  for i = REST + 1, #ARGV do pairs[#pairs + 1] = ARGV[i] end
end
put('lastNotificationId', noteId)
put('lastStatus', status)
put('updatedAt', now)
if owned then
  put('walletOwnership', 'owned')
  put('walletRecordId', owner[1])
  if owner[2] then put('externalId', owner[2]) end
  if owner[3] then put('walletName', owner[3]) end
else
  put('walletOwnership', 'unowned')
end
if not state then
  put('firstSeenAt', now)
  put('notifications', 1)
else
  redis.call('HINCRBY', K.deposit, 'notifications', 1)
end
if not state and sweptBy then
  -- The ledger forgot a swept deposit: the long-lived record says which transfer moved it.
  put('state', 'swept'); put('transferId', sweptBy); put('restoredAt', now); put('upstreamStatus', status)
elseif action == 'create' or action == 'replace' or action == 'move' then
  put('state', to)
  put('upstreamStatus', status)
  put('statusAt', now)
  if to == 'queued' then put('queuedAt', now) end
  if reason ~= '' then put('reason', reason) end
end
if action == 'compare' and status == 'CLOSED' then
  local watched = {'amount', 'walletId', 'currency', 'accountId'}
  local have = redis.call('HMGET', K.deposit, unpack(watched))
  for j = 1, #watched do
    local said = field(watched[j])
    if said and have[j] and have[j] ~= said then
      put('conflict', 'notification ' .. noteId .. ' says ' .. watched[j] .. '=' .. said .. ', record has ' .. have[j])
    end
  end
end
redis.call('HSET', K.deposit, unpack(pairs))
-- An unowned deposit names no customer, whatever an earlier notification or owner record said.
if not owned then redis.call('HDEL', K.deposit, 'walletRecordId', 'externalId', 'walletName') end
local now_state = (not state and sweptBy) and 'swept' or to
retain(from, now_state, depositId)

if not state then
  -- Indexes drop what has expired; the attempts list does not exist yet (its writer expires it).
  local horizon = tonumber(now) - tonumber(A.retention)
  for _, index in ipairs({K.byTime, K.byWallet}) do
    redis.call('ZADD', index, now, depositId)
    redis.call('ZREMRANGEBYSCORE', index, '-inf', horizon)
    redis.call('PEXPIRE', index, A.retention)
  end
  local accountId = field('accountId')
  if accountId then redis.call('SADD', K.accounts, accountId) end
  if A.hasTx == '1' then
    redis.call('SADD', K.byTx, depositId)
    redis.call('PEXPIRE', K.byTx, A.retention)
  end
end
if owned and owner[2] then
  -- The index key is derived here because only the owner record names the customer; under a hash-tagged
  -- prefix (Redis Cluster) it is in the same slot as every other key of the script.
  local index = A.externalIndex .. owner[2]
  local horizon = tonumber(now) - tonumber(A.retention)
  redis.call('ZADD', index, 'NX', now, depositId)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', horizon)
  redis.call('PEXPIRE', index, A.retention)
end
emitMerchant(from, now_state, depositId)
local change = (not state) and 'created' or ((now_state ~= from or action == 'replace') and 'transitioned' or 'unchanged')
-- A sweep job that has finished under the deposit's job id blocks a new one (the receiver removes it).
return {now_state, change, fresh, now_state == 'queued' and finishedOn or '', owned and '1' or '0'}
`,
});

/**
 * A sweep job claims its deposit: the claim rows decide by state; the upstream-status rules
 * (`statusRules`, `STATUS=claim|state,...,*=state`) by the latest status, unless an operator requeued
 * the deposit after that status arrived. A deposit in the swept-ids record is never claimed (its
 * record is set back to swept). A deposit whose transfer was first called `windowMs` or longer ago
 * (`firstAttempts`) is never claimed either, operator or not: it is held (Interlace may have forgotten
 * the clientTransactionId); a claim records the first call's time (HSETNX: the first stays). Answers
 * {'claimed', record pairs} (claim and read in one round trip), {'stopped', new state},
 * {'refused', state} or {'missing'}.
 */
export const CLAIM_DEPOSIT = defineScript({
  name: 'claim',
  keys: ['deposit', 'notes', 'attempts', 'held', 'sweptIds', 'firstAttempts', 'outbox'],
  args: ['now', 'rows', 'statusRules', 'retention', 'windowMs', 'emit', 'merchantEvents'],
  lua: `
${ROW}
${RETAIN}
${EMIT}
local record = redis.call('HGETALL', K.deposit)
if #record == 0 then return {'missing'} end
local at = {}
for i = 1, #record, 2 do at[record[i]] = i end
local function get(f) return at[f] and record[at[f] + 1] end
local state, depositId = get('state') or 'missing', get('depositId') or ''
if state ~= 'swept' then
  local sweptBy = redis.call('HGET', K.sweptIds, depositId)
  if sweptBy then
    redis.call('HSET', K.deposit, 'state', 'swept', 'transferId', sweptBy, 'restoredAt', A.now, 'updatedAt', A.now)
    return {'refused', 'swept'}
  end
end
local _, action = row(state)
if action ~= 'claim' then return {'refused', state} end
local firstAt = redis.call('HGET', K.firstAttempts, depositId)
if firstAt and tonumber(A.now) - tonumber(firstAt) >= tonumber(A.windowMs) then
  local days = math.floor((tonumber(A.now) - tonumber(firstAt)) / 86400000)
  redis.call('HSET', K.deposit, 'state', 'held', 'updatedAt', A.now, 'reason',
    'idempotency-window-closed: the first transfer call was ' .. days .. ' days ago; Interlace keeps ' ..
    'idempotency records 90 days, so a resend could move the money twice: check the transfer at Interlace')
  retain(state, 'held', depositId)
  emitMerchant(state, 'held', depositId)
  return {'stopped', 'held'}
end
local status = get('upstreamStatus') or ''
local approved = get('replayedAt') and tonumber(get('replayedAt')) >= tonumber(get('statusAt') or '0')
if not approved then
  local literal = string.gsub(status, '%W', '%%%0')
  local verdict = string.match(',' .. A.statusRules .. ',', ',' .. literal .. '=([%a-]+),')
    or string.match(A.statusRules, '%*=([%a-]+)')
  if verdict ~= 'claim' then
    redis.call('HSET', K.deposit, 'state', verdict, 'updatedAt', A.now, 'reason', 'claim refused: latest upstream status is ' .. status)
    retain(state, verdict, depositId)
    emitMerchant(state, verdict, depositId)
    return {'stopped', verdict}
  end
end
redis.call('HSETNX', K.firstAttempts, depositId, A.now)
local attempts = tonumber(get('attempts') or '0')
local changes = {'state', 'sweeping', 'sweepingAt', A.now, 'updatedAt', A.now, 'attempts', tostring(attempts + 1)}
redis.call('HSET', K.deposit, unpack(changes))
for i = 1, #changes, 2 do
  local f, v = changes[i], changes[i + 1]
  if at[f] then record[at[f] + 1] = v else record[#record + 1] = f; record[#record + 1] = v end
end
return {'claimed', record}
`,
});

/**
 * Fields a swept deposit no longer needs: derivable (the clientTransactionId is the deposit id's
 * name-based UUID), repeated (lastStatus = upstreamStatus) or the in-flight steps' times. Dropping them,
 * and the notification-id set, keeps what stays for LEDGER_RETENTION_DAYS small (docs/capacity.md).
 */
export const SWEPT_DROPS = [
  'clientTransactionId',
  'eventType',
  'lastStatus',
  'statusAt',
  'queuedAt',
  'sweepingAt',
];

/**
 * Money has moved: records the transfer (`rest`: field/value pairs) as the `transfer-confirmed` rows
 * say, and, whatever the ledger says, the deposit id in the long-lived swept-ids record (HSETNX: the
 * first transfer stays), then compacts the record to what a swept deposit keeps. Answers the previous
 * state ('swept' for a repeat) or 'missing'.
 */
export const MARK_SWEPT = defineScript({
  name: 'markSwept',
  keys: ['deposit', 'notes', 'attempts', 'held', 'sweptIds', 'firstAttempts', 'outbox'],
  args: ['now', 'rows', 'depositId', 'transferId', 'retention', 'emit', 'merchantEvents'],
  lua: `
${ROW}
${RETAIN}
${EMIT}
local current = redis.call('HMGET', K.deposit, 'state', 'reason')
local state = current[1]
local _, action = row(state or 'new')
redis.call('HSETNX', K.sweptIds, A.depositId, A.transferId)
-- Swept: the swept-ids record now stops every later transfer call, the first call's time is not needed.
redis.call('HDEL', K.firstAttempts, A.depositId)
if action == 'mark-swept' then
  local pairs = {}
  for i = REST + 1, #ARGV do pairs[#pairs + 1] = ARGV[i] end
  for _, v in ipairs({'state', 'swept', 'sweptAt', A.now, 'updatedAt', A.now}) do pairs[#pairs + 1] = v end
  redis.call('HSET', K.deposit, unpack(pairs))
  redis.call('HDEL', K.deposit, 'reason', ${SWEPT_DROPS.map((f) => `'${f}'`).join(', ')})
  redis.call('DEL', K.notes)
  retain(state, 'swept', A.depositId)
  emitMerchant(state, 'swept', A.depositId)
end
return state or 'missing'
`,
});

/** Buries a deposit as the `sweep-dead` rows say (never a swept or held one); answers the previous state. */
export const MARK_DEAD = defineScript({
  name: 'markDead',
  keys: ['deposit', 'outbox'],
  args: ['now', 'rows', 'reason', 'emit', 'merchantEvents'],
  lua: `
${ROW}
${EMIT}
local state = redis.call('HGET', K.deposit, 'state')
if not state then return 'missing' end
local _, action = row(state)
if action == 'bury' then
  redis.call('HSET', K.deposit, 'state', 'dead', 'deadAt', A.now, 'updatedAt', A.now, 'reason', A.reason)
  emitMerchant(state, 'dead', redis.call('HGET', K.deposit, 'depositId') or '')
end
return state
`,
});

/**
 * A state change decided outside a notification (the re-check before a transfer): applies the row
 * of the state it reads when its action is `move`. Answers {previous state, state now}.
 */
export const MOVE_DEPOSIT = defineScript({
  name: 'moveDeposit',
  keys: ['deposit', 'notes', 'attempts', 'held', 'outbox'],
  args: ['now', 'rows', 'reason', 'retention', 'emit', 'merchantEvents'],
  lua: `
${ROW}
${RETAIN}
${EMIT}
local state = redis.call('HGET', K.deposit, 'state')
if not state then return {'missing', 'missing'} end
local to, action = row(state)
if action ~= 'move' then return {state, state} end
redis.call('HSET', K.deposit, 'state', to, 'reason', A.reason, 'updatedAt', A.now)
local depositId = redis.call('HGET', K.deposit, 'depositId') or ''
retain(state, to, depositId)
emitMerchant(state, to, depositId)
return {state, to}
`,
});

/**
 * An operator's requeue, as the `operator-requeue` rows say and narrowed to the caller's `allowed`
 * states (comma list). Answers the previous state, 'missing', or 'refused:<state>'.
 */
export const REQUEUE = defineScript({
  name: 'requeue',
  keys: ['deposit', 'notes', 'attempts', 'held'],
  args: ['now', 'rows', 'operator', 'allowed', 'retention', 'approve'],
  lua: `
${ROW}
${RETAIN}
local state = redis.call('HGET', K.deposit, 'state')
if not state then return 'missing' end
local _, action = row(state)
if action == 'requeue' and string.find(',' .. A.allowed .. ',', ',' .. state .. ',', 1, true) then
  redis.call('HSET', K.deposit, 'state', 'queued', 'queuedAt', A.now, 'updatedAt', A.now, 'replayedBy', A.operator, 'replayedAt', A.now, 'previousState', state)
  if A.approve == '1' then redis.call('HSET', K.deposit, 'approvedBy', A.operator, 'approvedAt', A.now) end
  redis.call('HINCRBY', K.deposit, 'replays', 1)
  retain(state, 'queued', redis.call('HGET', K.deposit, 'depositId') or '')
  return state
end
return 'refused:' .. state
`,
});

/** Counts a notification that moves no deposit (the receiver appended it to the event log). */
export const LOG_NOTIFICATION = defineScript({
  name: 'logNotification',
  keys: ['eventCounts'],
  args: ['counterField'],
  lua: `
redis.call('HINCRBY', K.eventCounts, A.counterField, 1)
return 1
`,
});
