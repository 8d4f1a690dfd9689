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
  args: ['id', 'now', 'leaseUntil'],
  lua: `
local existing = redis.call('GET', K.byExternal)
if existing then return {'exists', existing} end
local fields = {}
for i = REST + 1, #ARGV do fields[#fields + 1] = ARGV[i] end
for _, v in ipairs({'id', A.id, 'state', 'creating', 'created', A.now, 'updated', A.now, 'lease_until', A.leaseUntil}) do
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
 * still `creating`, its lease has run out and the request names the same wallet. Answers
 * {'claimed', referenceId, sent}, {'active'}, {'busy'} (another request holds the lease),
 * {'conflict'} (another name) or {'missing'}.
 */
export const CLAIM_WALLET = defineScript({
  name: 'walletClaim',
  keys: ['wallet'],
  args: ['name', 'now', 'leaseUntil'],
  lua: `
local record = redis.call('HMGET', K.wallet, 'state', 'lease_until', 'name', 'reference_id', 'create_sent')
if not record[1] then return {'missing'} end
if record[1] == 'active' then return {'active'} end
if record[3] ~= A.name then return {'conflict'} end
if tonumber(record[2] or '0') > tonumber(A.now) then return {'busy'} end
redis.call('HSET', K.wallet, 'lease_until', A.leaseUntil)
return {'claimed', record[4], record[5] or ''}
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
local record = redis.call('HMGET', K.wallet, 'id', 'external_id', 'name', 'wallet_id')
if not record[1] then return 'missing' end
if record[4] and record[4] ~= '' and record[4] ~= A.walletId then return 'conflict' end
redis.call('HSET', K.wallet, 'wallet_id', A.walletId, 'state', 'active', 'updated', A.now, 'lease_until', '0')
redis.call('HSET', K.owner, 'id', record[1], 'external_id', record[2], 'name', record[3])
return 'ok'
`,
});

/**
 * Adopts a wallet this service did not create through POST /wallets (gateway mode's master wallets):
 * record, external_id index and owner index at once; an existing record is left as it is. Answers
 * 'created' or 'exists'.
 */
export const ADOPT_WALLET = defineScript({
  name: 'walletAdopt',
  keys: ['wallet', 'byExternal', 'byTime', 'owner'],
  args: ['id', 'externalId', 'name', 'walletId', 'now'],
  lua: `
local existing = redis.call('GET', K.byExternal)
if existing then return 'exists' end
redis.call('HSET', K.wallet, 'id', A.id, 'external_id', A.externalId, 'name', A.name, 'wallet_id', A.walletId,
  'state', 'active', 'created', A.now, 'updated', A.now, 'lease_until', '0')
for i = REST + 1, #ARGV, 2 do redis.call('HSET', K.wallet, ARGV[i], ARGV[i + 1]) end
redis.call('SET', K.byExternal, A.id)
redis.call('ZADD', K.byTime, A.now, A.id)
redis.call('HSET', K.owner, 'id', A.id, 'external_id', A.externalId, 'name', A.name)
return 'created'
`,
});
