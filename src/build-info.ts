import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type BuildInfo = { version: string; nodeVersion: string; commit: string };

const PACKAGE_NAME = 'interlace-sweep';

/**
 * What is running: the package version, the Node version and the commit (BUILD_COMMIT, set by the image
 * build; `unknown` otherwise). Reads package.json on call, never at import.
 */
export function readBuildInfo(commit?: string): BuildInfo {
  return { version: packageVersion(), nodeVersion: process.version, commit: commit || 'unknown' };
}

/** The version in the project's package.json, found from this file up (src/ under tsx, dist/src/ built). */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const json = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (json.name === PACKAGE_NAME && json.version) return json.version;
    }
    const parent = dirname(dir);
    if (parent === dir) return '0.0.0-unknown';
    dir = parent;
  }
}
