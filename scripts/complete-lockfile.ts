// Adds to package-lock.json the platform-specific optional packages (rollup, esbuild, msgpackr-extract
// builds for other OSes/CPUs) that npm leaves out when its registry cannot serve them, which makes
// `npm ci` refuse the lock file ("Missing: … from lock file"). They are optional and never installed
// on a platform they are not for, so an entry with version, os and cpu is all npm needs.
// Usage: npx tsx scripts/complete-lockfile.ts  (after any `npm install` that changed the lock file)
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
type Entry = { dev?: boolean; optionalDependencies?: Record<string, string> } & Record<string, unknown>;
const lock = JSON.parse(readFileSync(path, 'utf8')) as { packages: Record<string, Entry> };
const packages = lock.packages;
const OS = [
  'android',
  'darwin',
  'freebsd',
  'linux',
  'netbsd',
  'openbsd',
  'openharmony',
  'sunos',
  'win32',
  'aix',
  'cygwin',
];
const CPU = [
  'arm64',
  'arm',
  'x64',
  'ia32',
  'loong64',
  'mips64el',
  'ppc64',
  'riscv64',
  's390x',
  'wasm32',
  'loongarch64',
];
let added = 0;

for (const [location, entry] of Object.entries(packages)) {
  for (const [name, spec] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = `${location ? `${location}/` : ''}node_modules/${name}`;
    if (packages[nested] || packages[`node_modules/${name}`]) continue;
    const tail = name.split('/').pop() ?? name;
    const os = OS.find((item) => tail.includes(`-${item}`) || tail.startsWith(`${item}-`));
    const cpu = CPU.find((item) => new RegExp(`(^|-)${item}(-|$)`).test(tail));
    if (!os && !cpu) continue;
    packages[`node_modules/${name}`] = {
      version: spec.replace(/^[\^~=]/, ''),
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
      ...(os ? { os: [os] } : {}),
      ...(cpu ? { cpu: [cpu] } : {}),
    };
    added += 1;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
);
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} platform-specific optional entries`);
