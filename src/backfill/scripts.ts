// Lua scripts of the backfill: creating a backfill deposit only if the ledger did not change since it
// was read, and adding a swept backfill's amount to the wallet+currency credit atomically with "swept".
import { MARK_SWEPT } from '../deposits/scripts.js';

/**
 * KEYS: by-wallet index, seq counter, current id, new deposit hash, by-time index.
 * ARGV: deposit key prefix, expected seq, expected index size, now, retentionMs, nids, (id, state)…,
 * nfields, (field, value)…
 *
 * Creates the backfill deposit (state queued) only when: no backfill of this wallet+currency is still
 * queued/sweeping (answers {'in-progress', id}), the counter is still at the value the id was derived
 * from, and every ledger deposit of the wallet is still in the state the finding was computed from and
 * none was added (else {'changed', why}: the caller reads again). Answers {'created', id}.
 */
export const CREATE_BACKFILL_DEPOSIT = `
local depositKey = ARGV[1]
local current = redis.call('GET', KEYS[3])
if current then
  local st = redis.call('HGET', depositKey .. current, 'state')
  if st == 'queued' or st == 'sweeping' then return {'in-progress', current} end
end
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[2] then return {'changed', 'seq'} end
if redis.call('ZCARD', KEYS[1]) ~= tonumber(ARGV[3]) then return {'changed', 'index'} end
local nids = tonumber(ARGV[6])
local i = 7
for _ = 1, nids do
  if not redis.call('ZSCORE', KEYS[1], ARGV[i]) then return {'changed', ARGV[i]} end
  if (redis.call('HGET', depositKey .. ARGV[i], 'state') or '') ~= ARGV[i + 1] then return {'changed', ARGV[i]} end
  i = i + 2
end
if redis.call('EXISTS', KEYS[4]) == 1 then return {'changed', 'exists'} end
redis.call('INCR', KEYS[2])
local nfields = tonumber(ARGV[i])
i = i + 1
for j = i, i - 1 + nfields * 2, 2 do redis.call('HSET', KEYS[4], ARGV[j], ARGV[j + 1]) end
local now = ARGV[4]
redis.call('HSET', KEYS[4], 'state', 'queued', 'firstSeenAt', now, 'queuedAt', now, 'updatedAt', now, 'notifications', 0)
redis.call('PEXPIRE', KEYS[4], ARGV[5])
local id = redis.call('HGET', KEYS[4], 'depositId')
for k = 1, 5, 4 do
  redis.call('ZADD', KEYS[k], now, id)
  redis.call('PEXPIRE', KEYS[k], ARGV[5])
end
redis.call('SET', KEYS[3], id)
return {'created', id}
`;

/** Lua body: KEYS[1] deposit hash, KEYS[2] credit, KEYS[3] current id; ARGV[1] now. */
const CREDIT_IF_SWEPT = `
local function credit()
  if redis.call('HGET', KEYS[1], 'state') ~= 'swept' then return 'not-swept' end
  if redis.call('HGET', KEYS[1], 'origin') ~= 'backfill' then return 'not-backfill' end
  if redis.call('HGET', KEYS[1], 'creditedAt') then return 'already' end
  local units = redis.call('HGET', KEYS[1], 'creditUnits')
  if not units then return 'no-units' end
  redis.call('INCRBY', KEYS[2], units)
  redis.call('HSET', KEYS[1], 'creditedAt', ARGV[1])
  if redis.call('GET', KEYS[3]) == redis.call('HGET', KEYS[1], 'depositId') then redis.call('DEL', KEYS[3]) end
  return 'credited'
end
`;

/**
 * KEYS: deposit hash, backfill credit of its wallet+currency, current backfill id. ARGV: as MARK_SWEPT.
 * MARK_SWEPT, then, in the same script, a backfill deposit that is now swept adds its amount (minor
 * units, stored at creation) to the credit, once. Answers what MARK_SWEPT answers.
 */
export const MARK_SWEPT_WITH_CREDIT = `
${CREDIT_IF_SWEPT}
local function mark_swept()
${MARK_SWEPT}
end
local previous = mark_swept()
if previous ~= 'missing' then credit() end
return previous
`;

/** KEYS: deposit hash, credit, current id. ARGV: now. The catch-up of the credit; idempotent. */
export const APPLY_BACKFILL_CREDIT = `
${CREDIT_IF_SWEPT}
return credit()
`;
