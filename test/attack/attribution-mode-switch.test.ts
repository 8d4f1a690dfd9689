import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startApi, type Api } from '../../src/server.js';
import { startMerchantStack } from '../helpers/merchant-api.js';

// Attack (attribution, stale configuration): the owner records that gateway mode wrote for the account's
// master wallets outlive INTERLACE_MODE. After a switch to mor, docs/deposit-attribution.md says a master
// wallet is Interlace's, never created through POST /wallets, so its deposits follow
// UNKNOWN_WALLET_DEPOSITS (hold). The accept script only asks whether an owner record exists, so the
// master wallet's deposit is queued and swept.

type Stack = Awaited<ReturnType<typeof startMerchantStack>>;
let stack: Stack;
let morApi: Api;

beforeAll(async () => {
  stack = await startMerchantStack('attack-mode-switch', {
    gateway: true,
    env: { UNKNOWN_WALLET_DEPOSITS: '' },
  });
});
afterAll(async () => {
  await morApi?.close();
  await stack.close();
});

describe('a master wallet adopted in gateway mode, then INTERLACE_MODE=mor', () => {
  it('holds a deposit into the master wallet as for any wallet the service did not create', async () => {
    // Gateway mode: the merchant lists its wallets once; the master wallets are adopted.
    const listed = await stack.call<{ data: { external_id: string; wallet_id: string }[] }>(
      'GET',
      '/wallets',
    );
    const master = listed.body.data.find((w) => w.external_id === 'master-USDC');
    expect(master).toBeDefined();

    // The operator redeploys the receiver in MoR mode on the same Redis and prefix: the gateway-mode
    // receiver's ingest consumer is gone (else either consumer may store the notification).
    await stack.api.ingest.close();
    const morConfig = loadConfig({ ...stack.env, INTERLACE_MODE: 'mor' });
    expect(morConfig.merchantApi.mode).toBe('mor');
    morApi = await startApi(morConfig, stack.logger);

    const deposit = stack.sim.creditDeposit({
      walletId: master!.wallet_id,
      currency: 'USDC',
      amount: '40',
      status: 'CLOSED',
    });
    const delivered = await stack.sim.deliverNotification(`${morApi.url}/webhooks/interlace`, deposit.id);
    expect(delivered.status).toBe(200);
    await morApi.ingest.caughtUp();

    const record = await stack.record(deposit.id);
    expect(record.state).toBe('held');
  });
});
