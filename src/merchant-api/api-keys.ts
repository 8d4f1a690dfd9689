import { createHash, randomBytes } from 'node:crypto';

/** A scope of a merchant API key: reading, or also creating (seed 002: creating needs both). */
export type ApiScope = 'read' | 'write';

export const API_SCOPES: readonly ApiScope[] = ['read', 'write'];

/** One configured key: its name (for logs and audit), the SHA-256 of the key, and its scopes. */
export type ApiKeyEntry = Readonly<{ name: string; sha256: string; scopes: readonly ApiScope[] }>;

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Parses MERCHANT_API_KEYS: entries `name:sha256hex:scopes` separated by commas or white space, scopes
 * joined by `+` (`read`, `read+write`). Only hashes are configured, so the environment never holds a
 * usable key. Errors name the entry by position, never its content.
 */
export function parseApiKeys(value: string): ApiKeyEntry[] {
  const entries = value
    .split(/[\s,]+/)
    .map((item) => item.trim())
    .filter(Boolean);
  const parsed: ApiKeyEntry[] = [];
  entries.forEach((entry, index) => {
    const where = `entry ${index + 1}`;
    const parts = entry.split(':');
    if (parts.length !== 3)
      throw new Error(`${where} must be name:sha256hex:scopes (e.g. backend:<64 hex>:read+write)`);
    const [name, sha256, scopeList] = parts as [string, string, string];
    if (!NAME.test(name)) throw new Error(`${where}: the name must be 1-64 letters, digits, _ . -`);
    if (!SHA256_HEX.test(sha256.toLowerCase()))
      throw new Error(`${where}: the hash must be the 64 hex digits of the key's SHA-256`);
    const scopes = scopeList.split('+').filter(Boolean);
    if (scopes.length === 0 || !scopes.every((scope) => (API_SCOPES as string[]).includes(scope)))
      throw new Error(`${where}: scopes must be read, write or read+write`);
    if (parsed.some((other) => other.name === name))
      throw new Error(`${where}: the name ${name} is used twice`);
    if (parsed.some((other) => other.sha256 === sha256.toLowerCase()))
      throw new Error(`${where}: the same key is configured twice`);
    parsed.push({ name, sha256: sha256.toLowerCase(), scopes: [...new Set(scopes)] as ApiScope[] });
  });
  return parsed;
}

/** The SHA-256 (hex) of a key, as MERCHANT_API_KEYS holds it. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A new random key (256 bits) with a recognisable prefix, so a leaked one is easy to search for. */
export function generateApiKey(): string {
  return `isk_${randomBytes(32).toString('base64url')}`;
}

/** The MERCHANT_API_KEYS entry of a key. */
export function apiKeyEntry(name: string, key: string, scopes: readonly ApiScope[]): string {
  return `${name}:${hashApiKey(key)}:${scopes.join('+')}`;
}
