import { afterEach, describe, expect, it } from 'vitest';
import { tokenFingerprint } from '../../simulator/tokens.js';
import { CLIENT_ID, CLIENT_SECRET, startSimulator, type Harness } from './helpers.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.sim.close();
  harness = undefined;
});

async function start(options: Parameters<typeof startSimulator>[0] = {}): Promise<Harness> {
  harness = await startSimulator(options);
  return harness;
}

/** A clock the test moves by hand, so expiry is tested without waiting. */
function manualClock(start = 1_700_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('GET /oauth/authorize', () => {
  it('returns a hex authorization code and a timestamp in seconds for the known clientId', async () => {
    const clock = manualClock();
    const { api } = await start({ now: clock.now });

    const res = await api.call<{ code: string; timestamp: number }>(
      'GET',
      `/oauth/authorize?clientId=${CLIENT_ID}`,
    );

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      code: '000000',
      message: 'success',
      data: { code: expect.stringMatching(/^[0-9a-f]{32}$/), timestamp: 1_700_000_000 },
    });
  });

  it('answers a business error for an unknown clientId and a 400 without one', async () => {
    const { api } = await start();

    const unknown = await api.call('GET', '/oauth/authorize?clientId=someone-else');
    const missing = await api.call('GET', '/oauth/authorize');

    expect(unknown.status).toBe(200);
    expect(unknown.body.code).not.toBe('000000');
    expect(unknown.body.data).toBeUndefined();
    expect(missing.status).toBe(400);
    expect(missing.body.code).not.toBe('000000');
  });
});

describe('POST /oauth/access-token', () => {
  it('issues a token with expiresIn from the options and spends the code once', async () => {
    const { api } = await start({ tokenTtlSeconds: 3600 });
    const { body } = await api.call<{ code: string }>('GET', `/oauth/authorize?clientId=${CLIENT_ID}`);

    const first = await api.call('POST', '/oauth/access-token', {
      body: { clientId: CLIENT_ID, code: body.data.code },
    });
    const again = await api.call('POST', '/oauth/access-token', {
      body: { clientId: CLIENT_ID, code: body.data.code },
    });

    expect(first.body).toEqual({
      code: '000000',
      message: 'success',
      data: {
        accessToken: expect.stringMatching(/^[0-9a-f]{64}$/),
        refreshToken: expect.stringMatching(/^[0-9a-f]{64}$/),
        expiresIn: 3600,
        timestamp: expect.any(Number),
      },
    });
    expect(again.body.code).not.toBe('000000');
    expect(again.body.data).toBeUndefined();
  });

  it('refuses a code once it is older than the code TTL', async () => {
    const clock = manualClock();
    const { api } = await start({ now: clock.now, authCodeTtlSeconds: 60 });
    const { body } = await api.call<{ code: string }>('GET', `/oauth/authorize?clientId=${CLIENT_ID}`);

    clock.advance(61_000);
    const res = await api.call('POST', '/oauth/access-token', {
      body: { clientId: CLIENT_ID, code: body.data.code },
    });

    expect(res.body.code).not.toBe('000000');
  });

  it('accepts the right optional clientSecret, refuses a wrong one, and never logs it', async () => {
    const { sim, api } = await start();
    const code = async () =>
      (await api.call<{ code: string }>('GET', `/oauth/authorize?clientId=${CLIENT_ID}`)).body.data.code;

    const right = await api.call('POST', '/oauth/access-token', {
      body: { clientId: CLIENT_ID, code: await code(), clientSecret: CLIENT_SECRET },
    });
    const wrong = await api.call('POST', '/oauth/access-token', {
      body: { clientId: CLIENT_ID, code: await code(), clientSecret: 'guess' },
    });

    expect(right.body.code).toBe('000000');
    expect(wrong.body.code).not.toBe('000000');
    const logged = JSON.stringify(sim.requests());
    expect(logged).not.toContain(CLIENT_SECRET);
    expect(logged).not.toContain('guess');
  });

  it('answers 400 for a body without clientId or code', async () => {
    const { api } = await start();

    const res = await api.call('POST', '/oauth/access-token', { body: { clientId: CLIENT_ID } });

    expect(res.status).toBe(400);
    expect(res.body.code).not.toBe('000000');
  });
});

describe('x-access-token', () => {
  const walletsPath = '/cards/wallets?accountId=acc-1&walletType=0';

  it('accepts a fresh token and answers HTTP 401 with code 401003 without one or with an unknown one', async () => {
    const { sim, api } = await start();
    sim.createAccount({ accountId: 'acc-1' });
    const token = await api.token();

    const good = await api.call('GET', walletsPath, { token });
    const missing = await api.call('GET', walletsPath);
    const unknown = await api.call('GET', walletsPath, { token: 'f'.repeat(64) });

    expect(good.body.code).toBe('000000');
    for (const res of [missing, unknown]) {
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ code: '401003', message: expect.any(String) });
    }
  });

  it('stops accepting a token once its TTL has passed', async () => {
    const clock = manualClock();
    const { sim, api } = await start({ now: clock.now, tokenTtlSeconds: 600 });
    sim.createAccount({ accountId: 'acc-1' });
    const token = await api.token();

    clock.advance(599_000);
    const before = await api.call('GET', walletsPath, { token });
    clock.advance(1_000);
    const after = await api.call('GET', walletsPath, { token });

    expect(before.body.code).toBe('000000');
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('401003');
    expect(sim.tokensIssued()).toEqual([expect.objectContaining({ state: 'expired' })]);
  });

  it('revokes the previous token of the clientId when a new one is issued', async () => {
    const { sim, api } = await start();
    sim.createAccount({ accountId: 'acc-1' });
    const older = await api.token();
    const newer = await api.token();

    const withOlder = await api.call('GET', walletsPath, { token: older });
    const withNewer = await api.call('GET', walletsPath, { token: newer });

    expect(withOlder.body.code).toBe('401003');
    expect(withNewer.body.code).toBe('000000');
    expect(sim.tokensIssued().map((t) => t.state)).toEqual(['revoked', 'active']);
  });

  it('keeps older tokens valid when invalidatePreviousTokens is false', async () => {
    const { sim, api } = await start({ invalidatePreviousTokens: false });
    sim.createAccount({ accountId: 'acc-1' });
    const older = await api.token();
    await api.token();

    const res = await api.call('GET', walletsPath, { token: older });

    expect(res.body.code).toBe('000000');
  });

  it('rejects every token after expireTokens()', async () => {
    const { sim, api } = await start();
    sim.createAccount({ accountId: 'acc-1' });
    const token = await api.token();

    sim.expireTokens();
    const res = await api.call('GET', walletsPath, { token });

    expect(res.status).toBe(401);
    expect(res.body.code).toBe('401003');
  });

  it('answers HTTP 200 with code 401003 when authFailure is code-401003', async () => {
    const { sim, api } = await start({ authFailure: 'code-401003' });
    sim.createAccount({ accountId: 'acc-1' });
    const token = await api.token();
    sim.expireTokens();

    const expired = await api.call('GET', walletsPath, { token });
    const missing = await api.call('GET', walletsPath);

    for (const res of [expired, missing]) {
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ code: '401003', message: expect.any(String) });
    }
  });

  it('logs which token a call used by fingerprint, never the token itself', async () => {
    const { sim, api } = await start();
    sim.createAccount({ accountId: 'acc-1' });
    const token = await api.token();

    await api.call('GET', walletsPath, { token });

    const log = sim.requests();
    expect(JSON.stringify(log)).not.toContain(token);
    expect(log.at(-1)).toMatchObject({
      endpoint: 'wallets',
      method: 'GET',
      path: '/open-api/v3/cards/wallets',
      query: { accountId: 'acc-1', walletType: '0' },
      status: 200,
      code: '000000',
      tokenFingerprint: tokenFingerprint(token),
      outcome: 'answered',
    });
    expect(sim.tokensIssued()[0]?.fingerprint).toBe(tokenFingerprint(token));
  });
});
