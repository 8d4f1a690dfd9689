// Lua script of the reconciliation: an operator's sweep creates its deposit only if the ledger did not
// change since the unexplained amount was computed from it.
import { defineScript } from '../redis-script.js';

/**
 * Creates the operator's deposit (state queued) only when it does not exist yet (else {'exists', state}:
 * the same command ran before, and its deposit is the one to follow; also when only the swept-ids
 * record still knows it) and every ledger deposit of the
 * wallet is still in the state the amount was computed from and none was added (else {'changed', why}).
 * Answers {'created', id}. `rest`: nids, (id, state)…, nfields, (field, value)….
 */
export const CREATE_OPERATOR_DEPOSIT = defineScript({
  name: 'reconcileCreate',
  keys: ['byWallet', 'deposit', 'byTime', 'sweptIds'],
  args: ['depositKeyPrefix', 'depositId', 'indexSize', 'now', 'retention'],
  lua: `
local existing = redis.call('HGET', K.deposit, 'state')
if existing then return {'exists', existing} end
-- Its record expired, but the never-expiring swept-ids record knows it moved: never again.
if redis.call('HGET', K.sweptIds, A.depositId) then return {'exists', 'swept'} end
if redis.call('ZCARD', K.byWallet) ~= tonumber(A.indexSize) then return {'changed', 'index'} end
local i = REST + 1
local nids = tonumber(ARGV[i])
i = i + 1
for _ = 1, nids do
  if not redis.call('ZSCORE', K.byWallet, ARGV[i]) then return {'changed', ARGV[i]} end
  if (redis.call('HGET', A.depositKeyPrefix .. ARGV[i], 'state') or '') ~= ARGV[i + 1] then return {'changed', ARGV[i]} end
  i = i + 2
end
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
return {'created', id}
`,
});
