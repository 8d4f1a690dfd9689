import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseApiKeys, hashApiKey } from '../../src/merchant-api/api-keys.js';
import { runCli } from '../../src/ops/run-cli.js';
import { cli } from './cli-harness.js';

// No REDIS_URL and no credentials: making a key needs neither.
const env = { REDIS_URL: 'redis://127.0.0.1:1' };

describe('ops api-keys', () => {
  it('new: prints a fresh key and the MERCHANT_API_KEYS entry the service accepts for it', async () => {
    const first = await cli(env, '--json', 'api-keys', 'new', '--name', 'backend');
    const second = await cli(env, '--json', 'api-keys', 'new', '--name', 'reports', '--scopes', 'read');

    expect(first.code).toBe(0);
    const made = first.json<{ key: string; entry: string; scopes: string[] }>();
    expect(made.scopes).toEqual(['read', 'write']);
    expect(parseApiKeys(made.entry)).toEqual([
      { name: 'backend', sha256: hashApiKey(made.key), scopes: ['read', 'write'] },
    ]);
    expect(made.entry).not.toContain(made.key);
    expect(second.json<{ key: string; entry: string }>()).toMatchObject({
      entry: expect.stringMatching(/:read$/),
    });
    expect(second.json<{ key: string }>().key).not.toBe(made.key);
  });

  it('hash: reads the key from stdin, never from the command line', async () => {
    let out = '';
    const code = await runCli(['api-keys', 'hash', '--name', 'backend'], {
      env,
      stdin: Readable.from(['my-key\n']),
      stdout: { write: (text: string) => (out += text) },
      stderr: { write: () => undefined },
    });
    expect(code).toBe(0);
    expect(out.trim()).toBe(`backend:${hashApiKey('my-key')}:read+write`);
  });

  it.each([
    [['api-keys', 'new', '--name', 'bad name']],
    [['api-keys', 'new', '--name', 'x', '--scopes', 'admin']],
  ])('exits 2 with one line for %j', async (argv) => {
    const run = await cli(env, ...argv);
    expect(run.code).toBe(2);
    expect(run.err.trim().split('\n')).toHaveLength(1);
  });
});
