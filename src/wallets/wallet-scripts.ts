// Lua scripts of the merchant wallet records (src/wallets/wallet-store.ts). The external_id index is
// written in the same script as the record, so two concurrent creates of one external_id can never
// both win; a creation holds a lease while it calls Interlace, so a retry never runs beside it.
import { defineScript } from '../redis-script.js';

/**
 * Reserves an external_id for a new wallet: writes the record in `creating` with its referenceId (the
 * Interlace idempotency value, chosen before any call) and a lease. Answers {'created', id}, or
 * {'exists', id} when the external_id already names a wallet (nothing written).
 */
export const RESERVE_WALLET = defineScript({
  name: 'walletReserve',
  keys: ['wallet', 'byExternal', 'byTime'],
  args: ['id', 'now', 'leaseUntil', 'leaseToken'],
  lua: `
local existing = redis.call('GET', K.byExternal)
if existing then return {'exists', existing} end
local fields = {}
for i = REST + 1, #ARGV do fields[#fields + 1] = ARGV[i] end
for _, v in ipairs({'id', A.id, 'state', 'creating', 'created', A.now, 'updated', A.now, 'lease_until', A.leaseUntil,
  'lease_token', A.leaseToken}) do
  fields[#fields + 1] = v
end
redis.call('HSET', K.wallet, unpack(fields))
redis.call('SET', K.byExternal, A.id)
redis.call('ZADD', K.byTime, A.now, A.id)
return {'created', A.id}
`,
});

/**
 * Takes over an unfinished creation (a retry after a failed or abandoned one): only when the record is
 * still `creating`, its lease has run out and the request names the same wallet. The lease gets the
 * request's own token, so the request it was taken from can no longer send a create or release it.
 * Answers {'claimed', referenceId, sent}, {'active'}, {'busy'} (another request holds the lease),
 * {'conflict'} (another name) or {'missing'}.
 */
export const CLAIM_WALLET = defineScript({
  name: 'walletClaim',
  keys: ['wallet'],
  args: ['name', 'now', 'leaseUntil', 'leaseToken'],
  lua: `
local record = redis.call('HMGET', K.wallet, 'state', 'lease_until', 'name', 'reference_id', 'create_sent')
if not record[1] then return {'missing'} end
if record[1] == 'active' then return {'active'} end
if record[3] ~= A.name then return {'conflict'} end
if tonumber(record[2] or '0') > tonumber(A.now) then return {'busy'} end
redis.call('HSET', K.wallet, 'lease_until', A.leaseUntil, 'lease_token', A.leaseToken)
return {'claimed', record[4], record[5] or ''}
`,
});

/**
 * Right before a create call: records that it is being sent (and when), only if the request still
 * holds the creation (its lease token, not run out) for long enough to cover the whole call
 * (\`callBudget\` ms). Otherwise nothing is written and the request must not send it: another request
 * may have taken the creation over. Answers 'ok', 'lease-lost', 'active' or 'missing'.
 */
export const MARK_WALLET_CREATE_SENT = defineScript({
  name: 'walletMarkCreateSent',
  keys: ['wallet'],
  args: ['leaseToken', 'now', 'callBudget'],
  lua: `
local record = redis.call('HMGET', K.wallet, 'state', 'lease_token', 'lease_until')
if not record[1] then return 'missing' end
if record[1] == 'active' then return 'active' end
if record[2] ~= A.leaseToken then return 'lease-lost' end
if tonumber(record[3] or '0') < tonumber(A.now) + tonumber(A.callBudget) then return 'lease-lost' end
redis.call('HSET', K.wallet, 'create_sent', '1', 'create_sent_at', A.now)
return 'ok'
`,
});

/** Ends a request's lease early (its creation did not finish), only if the lease is still its own. */
export const RELEASE_WALLET_LEASE = defineScript({
  name: 'walletReleaseLease',
  keys: ['wallet'],
  args: ['leaseToken'],
  lua: `
if redis.call('HGET', K.wallet, 'lease_token') ~= A.leaseToken then return 0 end
redis.call('HSET', K.wallet, 'lease_until', '0')
return 1
`,
});

/**
 * Records the Interlace wallet a creation ended with and writes the owner index (Interlace wallet id →
 * {id, external_id, name}) in the same step, so a deposit into the wallet can be attributed as soon as
 * the merchant can know its address. Answers 'ok', 'missing', or 'conflict' when the record already
 * names another Interlace wallet.
 */
export const ACTIVATE_WALLET = defineScript({
  name: 'walletActivate',
  keys: ['wallet', 'owner'],
  args: ['walletId', 'now'],
  lua: `
local record = redis.call('HMGET', K.wallet, 'id', 'external_id', 'name', 'wallet_id', 'mode')
if not record[1] then return 'missing' end
if record[4] and record[4] ~= '' and record[4] ~= A.walletId then return 'conflict' end
redis.call('HSET', K.wallet, 'wallet_id', A.walletId, 'state', 'active', 'updated', A.now, 'lease_until', '0')
-- The mode says which INTERLACE_MODE counts the wallet as the service's (ownedWalletModes).
redis.call('HSET', K.owner, 'id', record[1], 'external_id', record[2], 'name', record[3], 'mode', record[5] or 'mor')
return 'ok'
`,
});

/**
 * Adopts a wallet this service did not create through POST /wallets (gateway mode's master wallets):
 * record, external_id index and owner index at once. A wallet that already has a record (its id is
 * derived from the Interlace wallet id) or an owner record, or an external_id that is taken, is left
 * as it is: adopting again never relabels a wallet whose deposits are already attributed. Answers
 * 'created' or 'exists'.
 */
export const ADOPT_WALLET = defineScript({
  name: 'walletAdopt',
  keys: ['wallet', 'byExternal', 'byTime', 'owner'],
  args: ['id', 'externalId', 'name', 'walletId', 'mode', 'now'],
  lua: `
if redis.call('EXISTS', K.wallet) == 1 or redis.call('EXISTS', K.owner) == 1 then return 'exists' end
if redis.call('EXISTS', K.byExternal) == 1 then return 'exists' end
redis.call('HSET', K.wallet, 'id', A.id, 'external_id', A.externalId, 'name', A.name, 'wallet_id', A.walletId,
  'mode', A.mode, 'state', 'active', 'created', A.now, 'updated', A.now, 'lease_until', '0')
for i = REST + 1, #ARGV, 2 do redis.call('HSET', K.wallet, ARGV[i], ARGV[i + 1]) end
redis.call('SET', K.byExternal, A.id)
redis.call('ZADD', K.byTime, A.now, A.id)
redis.call('HSET', K.owner, 'id', A.id, 'external_id', A.externalId, 'name', A.name, 'mode', A.mode)
return 'created'
`,
});
