import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWalletStore } from '../../src/wallets/wallet-store.js';
import { startStack, type Stack } from '../helpers/stack.js';

// Attack (attribution): the accept script refreshes a deposit's owner fields (walletOwnership,
// externalId, walletRecordId, walletName) from the wallet named by EVERY notification, while the
// record keeps the walletId (where the money is, what a sweep moves) of its first credited one. A later
// notification of the same deposit naming another wallet is only flagged as a conflict, yet it hands
// the deposit to that wallet's customer: the held money of an unknown wallet is then listed as
// cust-x's (ops deposits list --external-id, the per-customer index) and, once an operator releases it,
// announced to the merchant as cust-x's deposit.swept.

describe('a conflicting notification naming another customer wallet', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('attack-attrib-flip', { env: { UNKNOWN_WALLET_DEPOSITS: '' }, workers: false });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("keeps the deposit attributed to the wallet its money is in, not to another customer's", async () => {
    const unknown = stack.sim.createWallet(stack.account.accountId);
    const customer = stack.sim.createWallet(stack.account.accountId);
    await createWalletStore(stack.redis, stack.keys).adopt({
      id: 'w-cust-x',
      externalId: 'cust-x',
      name: 'X',
      walletId: customer.id,
      accountId: stack.account.accountId,
      mode: 'mor',
      now: Date.now(),
    });
    const depositId = `dep-flip-${Date.now()}`;
    const resource = (walletId: string) => ({
      id: depositId,
      accountId: stack.account.accountId,
      walletId,
      direction: 'IN',
      currency: 'USDC',
      amount: '50',
      status: 'CLOSED',
    });
    const send = (walletId: string) =>
      stack.sim.postNotification(
        stack.webhookUrl,
        stack.sim.buildRawNotification('CRYPTO_CONNECT_TRANSFER.UPDATED', resource(walletId)),
      );

    expect((await send(unknown.id)).status).toBe(200);
    expect(await stack.record(depositId)).toMatchObject({ state: 'held', walletOwnership: 'unowned' });

    expect((await send(customer.id)).status).toBe(200);
    const record = await stack.record(depositId);
    expect(record.walletId).toBe(unknown.id);
    expect(record.conflict).toMatch(/walletId/);
    // The money is in the unknown wallet: no customer may be credited with it.
    expect(record.externalId).toBeUndefined();
    expect(record.walletOwnership).toBe('unowned');
    expect(await stack.redis.zscore(stack.keys.depositsByExternalId('cust-x'), depositId)).toBeNull();
  });
});
