import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { sweepTransactionId } from '../../src/sweep/transaction-id.js';
import { createWalletStore } from '../../src/wallets/wallet-store.js';

let cluster: RedisClusterHandle;
let stack: Stack;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  stack = await startStack('cluster', { redisUrl: cluster.url, hashTag: true });
});
afterAll(async () => {
  await stack?.close();
  await cluster?.stop();
});

describe('on a 3-master Redis Cluster', () => {
  it('sweeps a deposit end to end, once, with every key in the prefix hash slot', async () => {
    const depositId = stack.deposit('42.5');
    const notification = stack.sim.buildNotification(depositId);

    const replies = await Promise.all(
      [1, 2, 3].map(() => stack.sim.postNotification(stack.webhookUrl, notification)),
    );

    expect(replies.map((reply) => reply.status)).toEqual([200, 200, 200]);
    expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
    expect(stack.transfersFor(depositId)).toHaveLength(1);
    expect(stack.transfersFor(depositId)[0]?.clientTransactionId).toBe(sweepTransactionId(depositId));
    expect(await stack.record(depositId)).toMatchObject({ state: 'swept', netAmount: '42.28' });
    expect(stack.prefix).toMatch(/^\{.+\}$/);
  });

  it("attributes a deposit to its customer: the accept script's per-customer index is in the same slot", async () => {
    const wallet = stack.sim.createWallet(stack.account.accountId);
    await createWalletStore(stack.redis, stack.keys).adopt({
      id: 'w-cluster-customer',
      externalId: 'cust-cluster',
      name: 'Cluster',
      walletId: wallet.id,
      accountId: stack.account.accountId,
      mode: 'mor',
      now: Date.now(),
    });
    const depositId = stack.sim.creditDeposit({
      walletId: wallet.id,
      currency: 'USDC',
      amount: '12',
      status: 'CLOSED',
    }).id;

    expect((await stack.notify(depositId)).status).toBe(200);
    expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
    expect(await stack.record(depositId)).toMatchObject({ state: 'swept', externalId: 'cust-cluster' });
    expect(await stack.redis.zrange(stack.keys.depositsByExternalId('cust-cluster'), 0, -1)).toEqual([
      depositId,
    ]);
  });
});
