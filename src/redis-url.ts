/** Where Redis is, as REDIS_URL says: a single server, a Sentinel group, or a Cluster. */
export type RedisTarget =
  | { kind: 'standalone'; url: string }
  | {
      kind: 'sentinel';
      sentinels: { host: string; port: number }[];
      name: string;
      username?: string;
      password?: string;
      tls: boolean;
      db: number;
    }
  | {
      kind: 'cluster';
      nodes: { host: string; port: number }[];
      username?: string;
      password?: string;
      tls: boolean;
    };

/**
 * Parses REDIS_URL. Besides `redis://` and `rediss://`:
 * - `redis+sentinel://[user:pass@]host:port[,host:port…]/<master name>[/<db>]` (rediss+sentinel for TLS);
 * - `redis+cluster://[user:pass@]host:port[,host:port…]` (rediss+cluster for TLS).
 * Throws with a message naming what is wrong; never echoes a password.
 */
export function parseRedisUrl(value: string): RedisTarget {
  const match = /^(rediss?)(\+sentinel|\+cluster)?:\/\/(.*)$/.exec(value);
  if (!match) throw new Error('must start with redis://, rediss://, redis+sentinel:// or redis+cluster://');
  const [, scheme, mode, rest] = match as unknown as [string, string, string | undefined, string];
  if (!mode) return { kind: 'standalone', url: value };
  const at = rest.lastIndexOf('@');
  const credentials = at >= 0 ? rest.slice(0, at) : '';
  const [hostList = '', ...path] = (at >= 0 ? rest.slice(at + 1) : rest).split('/');
  const auth = parseCredentials(credentials);
  if (hostList === '') throw new Error('names no host:port');
  const hosts = hostList.split(',').map(parseHost);
  const tls = scheme === 'rediss';
  if (mode === '+cluster') return { kind: 'cluster', nodes: hosts, tls, ...auth };
  const name = path[0];
  if (!name)
    throw new Error(
      'redis+sentinel:// needs the master name as its path, e.g. redis+sentinel://h1:26379,h2:26379/mymaster',
    );
  const db = path[1] === undefined || path[1] === '' ? 0 : Number(path[1]);
  if (!Number.isInteger(db) || db < 0) throw new Error('has a database number that is not a whole number');
  return { kind: 'sentinel', sentinels: hosts, name: decodeURIComponent(name), tls, db, ...auth };
}

function parseHost(item: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(item.trim());
  if (!match) throw new Error(`has "${item}" where host:port was expected`);
  const port = Number(match[2]);
  if (port < 1 || port > 65535) throw new Error(`has port ${port} out of range`);
  return { host: match[1]!, port };
}

function parseCredentials(text: string): { username?: string; password?: string } {
  if (text === '') return {};
  const colon = text.indexOf(':');
  const username = decodeURIComponent(colon >= 0 ? text.slice(0, colon) : text);
  const password = colon >= 0 ? decodeURIComponent(text.slice(colon + 1)) : undefined;
  return { ...(username ? { username } : {}), ...(password ? { password } : {}) };
}
