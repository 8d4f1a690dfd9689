// Lua script of the backfill: creating a backfill deposit only if the ledger did not change since it
// was read.
import { defineScript } from '../redis-script.js';

/**
 * Creates the backfill deposit (state queued) only when: no backfill of this wallet+currency is still
 * queued/sweeping (answers {'in-progress', id}), the counter is still at the value the id was derived
 * from, and every ledger deposit of the wallet is still in the state the finding was computed from and
 * none was added (else {'changed', why}: the caller reads again). Answers {'created', id}.
 * `rest`: nids, (id, state)…, nfields, (field, value)….
 */
export const CREATE_BACKFILL_DEPOSIT = defineScript({
  name: 'backfillCreate',
  keys: ['byWallet', 'seq', 'current', 'deposit', 'byTime'],
  args: ['depositKeyPrefix', 'expectedSeq', 'indexSize', 'now', 'retention'],
  lua: `
local depositKey = A.depositKeyPrefix
local current = redis.call('GET', K.current)
if current then
  local st = redis.call('HGET', depositKey .. current, 'state')
  if st == 'queued' or st == 'sweeping' then return {'in-progress', current} end
end
if (redis.call('GET', K.seq) or '0') ~= A.expectedSeq then return {'changed', 'seq'} end
if redis.call('ZCARD', K.byWallet) ~= tonumber(A.indexSize) then return {'changed', 'index'} end
local i = REST + 1
local nids = tonumber(ARGV[i])
i = i + 1
for _ = 1, nids do
  if not redis.call('ZSCORE', K.byWallet, ARGV[i]) then return {'changed', ARGV[i]} end
  if (redis.call('HGET', depositKey .. ARGV[i], 'state') or '') ~= ARGV[i + 1] then return {'changed', ARGV[i]} end
  i = i + 2
end
if redis.call('EXISTS', K.deposit) == 1 then return {'changed', 'exists'} end
redis.call('INCR', K.seq)
local nfields = tonumber(ARGV[i])
i = i + 1
for j = i, i - 1 + nfields * 2, 2 do redis.call('HSET', K.deposit, ARGV[j], ARGV[j + 1]) end
local now = A.now
redis.call('HSET', K.deposit, 'state', 'queued', 'firstSeenAt', now, 'queuedAt', now, 'updatedAt', now, 'notifications', 0)
redis.call('PEXPIRE', K.deposit, A.retention)
local id = redis.call('HGET', K.deposit, 'depositId')
for _, index in ipairs({K.byWallet, K.byTime}) do
  redis.call('ZADD', index, now, id)
  redis.call('PEXPIRE', index, A.retention)
end
redis.call('SET', K.current, id)
return {'created', id}
`,
});
