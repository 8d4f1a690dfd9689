import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';

// Attack (webhook input, unsigned envelope fields): Interlace's signature covers `resource` only; the
// envelope `id` (the notification id) is not signed. Anyone holding ONE signed notification of a deposit
// (a proxy log, a captured request) can replay it under fresh ids: each replay is a "fresh" notification,
// added to the deposit's notification-id set. A held deposit's keys never expire (it waits for an
// operator), so the set grows without bound: with Redis at noeviction, memory runs out and every webhook
// answers 503. A replay of the same signed resource should count as the duplicate it is.

describe('a captured signed notification replayed under new envelope ids', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('attack-unsigned-id', { env: { UNKNOWN_WALLET_DEPOSITS: '' }, workers: false });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('does not grow a held deposit with every replay', async () => {
    const wallet = stack.sim.createWallet(stack.account.accountId); // not ours: the deposit is held
    const depositId = stack.sim.creditDeposit({
      walletId: wallet.id,
      currency: 'USDC',
      amount: '30',
      status: 'CLOSED',
    }).id;
    const captured = stack.sim.buildNotification(depositId);
    expect((await stack.sim.postNotification(stack.webhookUrl, captured)).status).toBe(200);
    expect(await stack.record(depositId)).toMatchObject({ state: 'held' });

    for (let i = 0; i < 20; i += 1) {
      const replay = structuredClone(captured);
      replay.envelope.id = `forged-${i}`;
      replay.body = JSON.stringify(replay.envelope);
      expect((await stack.sim.postNotification(stack.webhookUrl, replay)).status).toBe(200);
    }

    expect(await stack.redis.scard(stack.keys.depositNotifications(depositId))).toBe(1);
    expect(await stack.redis.ttl(stack.keys.depositNotifications(depositId))).toBe(-1); // never expires
  });
});
