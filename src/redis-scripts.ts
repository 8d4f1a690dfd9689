// Every Lua script of the service, in one registry: each is defined with named keys and arguments
// (src/redis-script.ts) beside the code it belongs to, and registered here so that command names
// never clash and a connection can install them all before it creates pipelines.
import { CREATE_OPERATOR_DEPOSIT } from './reconcile/scripts.js';
import {
  ACCEPT_NOTIFICATION,
  CLAIM_DEPOSIT,
  LOG_NOTIFICATION,
  MARK_DEAD,
  MARK_SWEPT,
  MOVE_DEPOSIT,
  REQUEUE,
} from './deposits/scripts.js';
import { DELETE_TOKEN_IF_SAME, RELEASE_TOKEN_LOCK, WRITE_TOKEN_IF_LOCKED } from './interlace/access-token.js';
import { BEGIN_STEP, CREATE_PAYOUT, DAILY_USED, NOTE, TRANSITION } from './payouts/payout-scripts.js';
import { scriptRegistry } from './redis-script.js';
import { CREATE_INGEST_GROUP, FORGET_CONSUMERS, TRIM_EVENT_LOG } from './webhooks/ingest-log.js';
import {
  ACTIVATE_WALLET,
  ADOPT_WALLET,
  CLAIM_WALLET,
  MARK_WALLET_CREATE_SENT,
  RELEASE_WALLET_LEASE,
  RESERVE_WALLET,
} from './wallets/wallet-scripts.js';

/** All Lua scripts, by name. */
export const scripts = scriptRegistry({
  accept: ACCEPT_NOTIFICATION,
  claim: CLAIM_DEPOSIT,
  markSwept: MARK_SWEPT,
  markDead: MARK_DEAD,
  moveDeposit: MOVE_DEPOSIT,
  requeue: REQUEUE,
  logNotification: LOG_NOTIFICATION,
  trimEventLog: TRIM_EVENT_LOG,
  forgetIngestConsumers: FORGET_CONSUMERS,
  createIngestGroup: CREATE_INGEST_GROUP,
  reconcileCreate: CREATE_OPERATOR_DEPOSIT,
  tokenDeleteIfSame: DELETE_TOKEN_IF_SAME,
  tokenReleaseLock: RELEASE_TOKEN_LOCK,
  tokenWriteIfLocked: WRITE_TOKEN_IF_LOCKED,
  payoutCreate: CREATE_PAYOUT,
  payoutDailyUsed: DAILY_USED,
  payoutTransition: TRANSITION,
  payoutBeginStep: BEGIN_STEP,
  payoutNote: NOTE,
  walletReserve: RESERVE_WALLET,
  walletClaim: CLAIM_WALLET,
  walletActivate: ACTIVATE_WALLET,
  walletAdopt: ADOPT_WALLET,
  walletMarkCreateSent: MARK_WALLET_CREATE_SENT,
  walletReleaseLease: RELEASE_WALLET_LEASE,
});
