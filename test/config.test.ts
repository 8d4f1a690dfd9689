import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_DEPOSIT_EVENT_TYPES, loadConfig } from '../src/config.js';

const REQUIRED = { INTERLACE_CLIENT_ID: 'client-id', INTERLACE_CLIENT_SECRET: 'client-secret' } as const;

function load(extra: Record<string, string | undefined> = {}) {
  return loadConfig({ ...REQUIRED, ...extra });
}

/** The ConfigError thrown for `env`; fails the test if loading succeeds or throws something else. */
function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(Object.keys(env))}`);
}

describe('loadConfig', () => {
  it('applies the documented defaults when only the credentials are set', () => {
    const config = load();
    expect(config).toMatchObject({
      env: 'production',
      port: 3000,
      host: '0.0.0.0',
      redisUrl: 'redis://127.0.0.1:6379',
      queuePrefix: 'isweep',
      shutdownTimeoutMs: 25_000,
      eventLogMaxLen: 100_000,
      webhookTimeoutMs: 3_000,
      logLevel: 'info',
      dashboard: undefined,
    });
    // toMatchObject: new settings may be added without rewriting this test.
    expect(config.interlace).toMatchObject({
      baseUrl: 'https://api-sandbox.interlace.money',
      clientId: 'client-id',
      clientSecret: 'client-secret',
      webhookSecret: 'client-secret',
      depositEventTypes: DEFAULT_DEPOSIT_EVENT_TYPES,
      timeoutMs: 10_000,
      tokenRenewBeforeMs: 300_000,
      walletTypeParam: 'walletType',
      tokenSendSecret: false,
    });
    expect(config.sweep).toMatchObject({
      currencies: ['USD', 'USDC', 'USDT', 'WUSD'],
      minAmount: '1',
      attempts: 10,
      backoffMs: 2_000,
      backoffMaxMs: 600_000,
      insufficientBalanceRetries: 3,
      concurrency: 10,
      walletCacheTtlMs: 3_600_000,
    });
  });

  it('reads process.env when called without arguments', () => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, REQUIRED, { PORT: '4321' });
      expect(loadConfig().port).toBe(4321);
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });

  it.each(['INTERLACE_CLIENT_ID', 'INTERLACE_CLIENT_SECRET'])('refuses to start without %s', (name) => {
    const error = configError({ ...REQUIRED, [name]: undefined });
    expect(error.code).toBe('invalid-config');
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatch(new RegExp(`^${name}: `));
    expect(error.message).toContain(name);
  });

  it('treats empty strings as unset, as docker compose passes unset variables as FOO=', () => {
    const error = configError({ INTERLACE_CLIENT_ID: '', INTERLACE_CLIENT_SECRET: '' });
    expect(error.problems.map((problem) => problem.split(':')[0])).toEqual([
      'INTERLACE_CLIENT_ID',
      'INTERLACE_CLIENT_SECRET',
    ]);
    expect(load({ PORT: '', LOG_LEVEL: '', INTERLACE_WEBHOOK_SECRET: '' })).toMatchObject({
      port: 3000,
      logLevel: 'info',
      interlace: { webhookSecret: 'client-secret' },
    });
  });

  it('names every bad variable in one error', () => {
    const error = configError({ ...REQUIRED, PORT: 'http', SWEEP_MIN_AMOUNT: '1e3', LOG_LEVEL: 'loud' });
    const names = error.problems.map((problem) => problem.split(':')[0]);
    expect(names.sort()).toEqual(['LOG_LEVEL', 'PORT', 'SWEEP_MIN_AMOUNT']);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '3000.5'],
    ['PORT', '-1'],
    ['PORT', '65536'],
    ['SWEEP_MIN_AMOUNT', '1e3'],
    ['SWEEP_MIN_AMOUNT', '-1'],
    ['SWEEP_MIN_AMOUNT', '1.'],
    ['SWEEP_MIN_AMOUNT', 'abc'],
    ['LOG_LEVEL', 'verbose'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['QUEUE_PREFIX', 'has space'],
    ['INTERLACE_BASE_URL', 'not a url'],
    ['INTERLACE_WALLET_TYPE_PARAM', 'type'],
    ['INTERLACE_TOKEN_SEND_SECRET', 'maybe'],
    ['SWEEP_CURRENCIES', ' , ,'],
    ['SWEEP_ATTEMPTS', '0'],
    ['WEBHOOK_TIMEOUT_MS', '5000'],
    ['ADMIN_PORT', '70000'],
    ['LOG_FORMAT', 'xml'],
    ['BUILD_COMMIT', 'not a commit'],
    ['HTTPS_PROXY', 'proxy.example:3128'],
    ['https_proxy', 'socks5://proxy.example:1080'],
    ['HTTP_PROXY', 'not a url'],
  ])('rejects %s=%j and names it', (name, value) => {
    const error = configError({ ...REQUIRED, [name]: value });
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatch(new RegExp(`^${name}: `));
  });

  it('reconciles every 15 minutes by default, and refuses the removed BACKFILL_* settings by name', () => {
    expect(load().reconcile).toEqual({ enabled: true, intervalMs: 900_000, accountIds: [] });
    expect(load({ RECONCILE_ENABLED: 'false' }).reconcile.enabled).toBe(false);
    const error = configError({ ...REQUIRED, BACKFILL_MODE: 'sweep', BACKFILL_ENABLED: 'true' });
    expect(error.problems).toEqual([
      expect.stringMatching(/^BACKFILL_MODE: .*report-only reconciliation.*RECONCILE_/),
      expect.stringMatching(/^BACKFILL_ENABLED: /),
    ]);
  });

  it('keeps both idempotency windows 85 days by default, and never 90 or more (Interlace keeps 90)', () => {
    const day = 86_400_000;
    expect(load().sweep.idempotencyWindowMs).toBe(85 * day);
    expect(load().payout.idempotencyWindowMs).toBe(85 * day);
    expect(load({ SWEEP_IDEMPOTENCY_WINDOW_DAYS: '60' }).sweep.idempotencyWindowMs).toBe(60 * day);
    const error = configError({
      ...REQUIRED,
      SWEEP_IDEMPOTENCY_WINDOW_DAYS: '90',
      PAYOUT_IDEMPOTENCY_WINDOW_DAYS: '90',
    });
    expect(error.problems.map((problem) => problem.split(':')[0]).sort()).toEqual([
      'PAYOUT_IDEMPOTENCY_WINDOW_DAYS',
      'SWEEP_IDEMPOTENCY_WINDOW_DAYS',
    ]);
  });

  it('normalises SWEEP_MIN_AMOUNT to a plain decimal string', () => {
    expect(load({ SWEEP_MIN_AMOUNT: '0.50' }).sweep.minAmount).toBe('0.5');
    expect(load({ SWEEP_MIN_AMOUNT: '007' }).sweep.minAmount).toBe('7');
    expect(load({ SWEEP_MIN_AMOUNT: '0' }).sweep.minAmount).toBe('0');
  });

  it('defaults the webhook secret to the client secret, and takes INTERLACE_WEBHOOK_SECRET when set', () => {
    expect(load().interlace.webhookSecret).toBe('client-secret');
    expect(load({ INTERLACE_WEBHOOK_SECRET: 'hook-secret' }).interlace).toMatchObject({
      clientSecret: 'client-secret',
      webhookSecret: 'hook-secret',
    });
  });

  it('parses comma-separated lists, trimming items and dropping empty ones', () => {
    const config = load({
      SWEEP_CURRENCIES: ' usdc , USDT,,wusd ',
      INTERLACE_DEPOSIT_EVENT_TYPES: ' A.CREATED ,B.UPDATED, ',
    });
    expect(config.sweep.currencies).toEqual(['USDC', 'USDT', 'WUSD']);
    expect(config.interlace.depositEventTypes).toEqual(['A.CREATED', 'B.UPDATED']);
  });

  it('keeps everything on PORT by default, and moves the admin routes to ADMIN_PORT when set', () => {
    expect(load().admin).toBeUndefined();
    expect(load({ ADMIN_PORT: '3001' }).admin).toEqual({ port: 3001, host: '127.0.0.1' });
    expect(load({ ADMIN_PORT: '3001', ADMIN_HOST: '0.0.0.0' }).admin).toEqual({
      port: 3001,
      host: '0.0.0.0',
    });
  });

  it('logs JSON by default, names the CLI as installed in the image, and reads the build commit', () => {
    expect(load()).toMatchObject({
      logFormat: 'json',
      opsCommandHint: 'interlace-sweep-ops',
      buildCommit: undefined,
    });
    expect(load({ LOG_FORMAT: 'pretty', BUILD_COMMIT: 'cf1ba0f' })).toMatchObject({
      logFormat: 'pretty',
      buildCommit: 'cf1ba0f',
    });
  });

  it('parses numbers, booleans and the base URL', () => {
    const config = load({
      PORT: '8080',
      INTERLACE_TOKEN_SEND_SECRET: 'yes',
      INTERLACE_TOKEN_RENEW_BEFORE_S: '60',
      WALLET_CACHE_TTL_S: '10',
      INTERLACE_BASE_URL: 'http://simulator:4010//',
    });
    expect(config.port).toBe(8080);
    expect(config.interlace.tokenSendSecret).toBe(true);
    expect(config.interlace.tokenRenewBeforeMs).toBe(60_000);
    expect(config.sweep.walletCacheTtlMs).toBe(10_000);
    // A trailing slash would otherwise double up when paths are appended.
    expect(config.interlace.baseUrl).toBe('http://simulator:4010');
    expect(load({ INTERLACE_TOKEN_SEND_SECRET: '0' }).interlace.tokenSendSecret).toBe(false);
  });

  it('holds deposits into unknown wallets unless told to sweep them', () => {
    expect(load().unknownWalletDeposits).toBe('hold');
    expect(load({ UNKNOWN_WALLET_DEPOSITS: 'sweep' }).unknownWalletDeposits).toBe('sweep');
    expect(configError({ ...REQUIRED, UNKNOWN_WALLET_DEPOSITS: 'yes' }).problems[0]).toMatch(
      /^UNKNOWN_WALLET_DEPOSITS: /,
    );
  });

  it('sends merchant events only with a URL and a Standard Webhooks secret, never echoing it', () => {
    const secret = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
    expect(load().merchantWebhook).toBeUndefined();
    expect(
      load({ MERCHANT_WEBHOOK_URL: 'https://merchant.example/hooks', MERCHANT_WEBHOOK_SECRET: secret })
        .merchantWebhook,
    ).toEqual({
      url: 'https://merchant.example/hooks',
      secret,
      attempts: 12,
      backoffMs: 5000,
      timeoutMs: 10000,
    });
    const missing = configError({ ...REQUIRED, MERCHANT_WEBHOOK_URL: 'https://merchant.example/hooks' });
    expect(missing.problems).toEqual([
      expect.stringMatching(/^MERCHANT_WEBHOOK_SECRET: is required when MERCHANT_WEBHOOK_URL/),
    ]);
    for (const bad of [
      's3cret-not-whsec',
      'whsec_',
      `whsec_${Buffer.alloc(8).toString('base64')}`,
      'whsec_!!!',
    ]) {
      const error = configError({
        ...REQUIRED,
        MERCHANT_WEBHOOK_URL: 'https://m.example/h',
        MERCHANT_WEBHOOK_SECRET: bad,
      });
      expect(error.problems[0]).toMatch(/^MERCHANT_WEBHOOK_SECRET: must be whsec_/);
      // (the bare prefix is part of the message's own wording)
      if (bad !== 'whsec_') expect(error.message).not.toContain(bad);
    }
  });

  it('enables the dashboard only with both DASHBOARD_USER and DASHBOARD_PASSWORD', () => {
    expect(load({ DASHBOARD_USER: 'ops', DASHBOARD_PASSWORD: 'pw' }).dashboard).toEqual({
      user: 'ops',
      password: 'pw',
    });
    const withoutPassword = configError({ ...REQUIRED, DASHBOARD_USER: 'ops' });
    expect(withoutPassword.problems).toHaveLength(1);
    expect(withoutPassword.problems[0]).toMatch(
      /^DASHBOARD_PASSWORD: .*DASHBOARD_USER and DASHBOARD_PASSWORD/,
    );
    const withoutUser = configError({ ...REQUIRED, DASHBOARD_PASSWORD: 'pw-7c1e5a' });
    expect(withoutUser.problems[0]).toMatch(/^DASHBOARD_USER: /);
    expect(withoutUser.message).not.toContain('pw-7c1e5a');
  });

  it('never puts a secret (or any other value) into the error', () => {
    const values = {
      INTERLACE_CLIENT_ID: 'id-8d1f0c',
      INTERLACE_CLIENT_SECRET: 'client-secret-5b2e91',
      INTERLACE_WEBHOOK_SECRET: 'webhook-secret-c47a02',
      DASHBOARD_PASSWORD: 'dashboard-password-e96b3d',
      LOG_LEVEL: 'level-secret-0f3c77',
      PORT: 'port-secret-91aa4e',
      SWEEP_MIN_AMOUNT: 'amount-secret-2b7d18',
      REDIS_URL: 'http://:redis-password-4e0c5a@example.com',
      HTTPS_PROXY: 'proxy-user:proxy-password-77c1d9@proxy.example:3128',
    };
    const error = configError(values);
    expect(error.problems.map((problem) => problem.split(':')[0]).sort()).toEqual(
      expect.arrayContaining(['HTTPS_PROXY', 'LOG_LEVEL', 'PORT', 'REDIS_URL', 'SWEEP_MIN_AMOUNT']),
    );
    const everything = [error.message, ...error.problems, JSON.stringify(error), String(error.stack)].join(
      '\n',
    );
    for (const value of Object.values(values)) expect(everything).not.toContain(value);
    expect(everything).not.toContain('redis-password-4e0c5a');
    expect(everything).not.toContain('proxy-password-77c1d9');
  });

  it('accepts the proxy variables curl and proxy-from-env read, in either case', () => {
    expect(() =>
      load({
        HTTPS_PROXY: 'http://user:pass@proxy.example:3128',
        http_proxy: 'http://proxy.example:3128',
        NO_PROXY: 'localhost,.internal',
      }),
    ).not.toThrow();
  });

  it('returns a deeply frozen object', () => {
    const config = load({ DASHBOARD_USER: 'ops', DASHBOARD_PASSWORD: 'pw' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.interlace)).toBe(true);
    expect(Object.isFrozen(config.interlace.depositEventTypes)).toBe(true);
    expect(Object.isFrozen(config.sweep)).toBe(true);
    expect(Object.isFrozen(config.sweep.currencies)).toBe(true);
    expect(Object.isFrozen(config.dashboard)).toBe(true);
    expect(Reflect.set(config, 'port', 1)).toBe(false);
    expect(() => (config.sweep.currencies as string[]).push('BTC')).toThrow(TypeError);
    expect(config.port).toBe(3000);
  });

  it('does not let later edits of the input leak into the config', () => {
    const env: NodeJS.ProcessEnv = { ...REQUIRED, SWEEP_CURRENCIES: 'USDC' };
    const config = loadConfig(env);
    env.SWEEP_CURRENCIES = 'BTC';
    env.INTERLACE_CLIENT_SECRET = 'changed';
    expect(config.sweep.currencies).toEqual(['USDC']);
    expect(config.interlace.clientSecret).toBe('client-secret');
  });
});

describe('loadConfig: the merchant API', () => {
  const entry = `backend:${'a'.repeat(64)}:read+write`;

  it('is off without MERCHANT_API_KEYS, in MoR mode', () => {
    expect(load().merchantApi).toMatchObject({ enabled: false, keys: [], mode: 'mor', accountId: '' });
  });

  it('is on with keys and an account, and needs the account', () => {
    expect(
      load({ MERCHANT_API_KEYS: entry, INTERLACE_ACCOUNT_ID: 'acct', INTERLACE_MODE: 'gateway' }).merchantApi,
    ).toMatchObject({ enabled: true, mode: 'gateway', accountId: 'acct', keys: [{ name: 'backend' }] });
    expect(configError({ ...REQUIRED, MERCHANT_API_KEYS: entry }).problems).toEqual([
      expect.stringMatching(/^INTERLACE_ACCOUNT_ID: is required when MERCHANT_API_KEYS is set/),
    ]);
  });

  it('waits twice INTERLACE_TIMEOUT_MS for a lost create to settle unless told, and never less than it', () => {
    expect(load().merchantApi.createSettleMs).toBe(20_000);
    expect(load({ INTERLACE_TIMEOUT_MS: '3000' }).merchantApi.createSettleMs).toBe(6_000);
    expect(load({ WALLET_CREATE_SETTLE_MS: '45000' }).merchantApi.createSettleMs).toBe(45_000);
    expect(configError({ ...REQUIRED, WALLET_CREATE_SETTLE_MS: '9999' }).problems).toEqual([
      expect.stringMatching(/^WALLET_CREATE_SETTLE_MS: must be at least INTERLACE_TIMEOUT_MS/),
    ]);
  });

  it('needs the account in gateway mode, API or not (its master wallets are adopted)', () => {
    expect(configError({ ...REQUIRED, INTERLACE_MODE: 'gateway' }).problems).toEqual([
      expect.stringMatching(/^INTERLACE_ACCOUNT_ID: is required when INTERLACE_MODE is gateway/),
    ]);
  });

  it('names MERCHANT_API_KEYS, not its value, when an entry is malformed', () => {
    const problems = configError({ ...REQUIRED, MERCHANT_API_KEYS: 'backend:secret-looking:read' }).problems;
    expect(problems).toEqual([expect.stringMatching(/^MERCHANT_API_KEYS: entry 1: the hash/)]);
    expect(problems.join()).not.toContain('secret-looking');
  });
});
