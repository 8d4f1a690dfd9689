import { describe, expect, it } from 'vitest';
import { parseRedisUrl } from '../src/redis-url.js';
import { ConfigError, loadConfig } from '../src/config.js';

describe('REDIS_URL', () => {
  it('keeps plain redis:// and rediss:// URLs as they are', () => {
    expect(parseRedisUrl('redis://:pw@10.0.0.1:6380/2')).toEqual({
      kind: 'standalone',
      url: 'redis://:pw@10.0.0.1:6380/2',
    });
  });

  it('reads a Sentinel group with its master name, database and credentials', () => {
    expect(parseRedisUrl('redis+sentinel://:s%40cret@h1:26379,h2:26380/mymaster/3')).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 'h1', port: 26379 },
        { host: 'h2', port: 26380 },
      ],
      name: 'mymaster',
      db: 3,
      password: 's@cret',
      tls: false,
    });
  });

  it('reads a Cluster seed list, with TLS for rediss+cluster', () => {
    expect(parseRedisUrl('rediss+cluster://user:pw@n1:7000,n2:7001')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'n1', port: 7000 },
        { host: 'n2', port: 7001 },
      ],
      username: 'user',
      password: 'pw',
      tls: true,
    });
  });

  it.each([
    ['http://x:1', 'must start with'],
    ['redis+sentinel://h1:26379', 'master name'],
    ['redis+cluster://', 'names no host'],
    ['redis+cluster://n1', 'host:port'],
    ['redis+cluster://n1:99999', 'out of range'],
  ])('refuses %s', (url, message) => {
    expect(() => parseRedisUrl(url)).toThrow(message);
  });

  it('refuses a Cluster URL with a QUEUE_PREFIX without hash tag, naming QUEUE_PREFIX, and never echoes the password', () => {
    const base = { INTERLACE_CLIENT_ID: 'id', INTERLACE_CLIENT_SECRET: 'secret' };
    expect(() =>
      loadConfig({ ...base, REDIS_URL: 'redis+cluster://:hunter2@n1:7000', QUEUE_PREFIX: 'isweep' }),
    ).toThrow(/QUEUE_PREFIX: must contain a hash tag/);
    expect(
      loadConfig({ ...base, REDIS_URL: 'redis+cluster://n1:7000', QUEUE_PREFIX: '{isweep}' }).queuePrefix,
    ).toBe('{isweep}');
    try {
      loadConfig({ ...base, REDIS_URL: 'redis+sentinel://:hunter2@h1:26379' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain('REDIS_URL');
      expect((error as Error).message).not.toContain('hunter2');
    }
  });
});
