import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SERVICE_VERSION, USER_AGENT } from '../src/version.js';

describe('the service version', () => {
  it("is package.json's, and names the service in the User-Agent", () => {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(SERVICE_VERSION).toBe(manifest.version);
    expect(USER_AGENT).toBe(`interlace-sweep/${manifest.version}`);
  });
});
