import { execFile } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageVersion } from '../../src/build-info.js';
import { startStack, type Stack } from '../helpers/stack.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The production image's /app, rebuilt in a temp dir: package.json, the compiled dist/ (the project's
 * own build, as the Dockerfile's build stage runs it), and only the production dependencies, copied from
 * this checkout's node_modules as `npm ls --omit=dev` lists them (what `npm ci --omit=dev` installs,
 * without needing the registry). The CLI is linked onto a PATH directory as the Dockerfile links it.
 */
async function buildRuntimeLayout(dir: string): Promise<{ bin: string }> {
  cpSync(join(root, 'package.json'), join(dir, 'package.json'));
  cpSync(join(root, 'package-lock.json'), join(dir, 'package-lock.json'));
  await run(
    process.execPath,
    [
      join(root, 'node_modules/typescript/bin/tsc'),
      '-p',
      'tsconfig.build.json',
      '--outDir',
      join(dir, 'dist'),
    ],
    { cwd: root, timeout: 240_000 },
  );
  const { stdout } = await run('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
    cwd: root,
    timeout: 60_000,
  });
  const copied: string[] = [];
  for (const path of stdout.split('\n').filter(Boolean)) {
    const rel = relative(root, path);
    if (!rel.startsWith('node_modules')) continue;
    // A package copied whole already carries its nested node_modules.
    if (copied.some((done) => rel.startsWith(`${done}/`))) continue;
    cpSync(path, join(dir, rel), { recursive: true });
    copied.push(rel);
  }
  const binDir = join(dir, 'bin');
  mkdirSync(binDir);
  chmodSync(join(dir, 'dist/src/ops/main.js'), 0o755);
  symlinkSync(join(dir, 'dist/src/ops/main.js'), join(binDir, 'interlace-sweep-ops'));
  return { bin: join(binDir, 'interlace-sweep-ops') };
}

let dir: string;
let bin: string;
let stack: Stack;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'isweep-runtime-'));
  [{ bin }, stack] = await Promise.all([
    buildRuntimeLayout(dir),
    startStack('runtime-layout', { workers: false }),
  ]);
}, 300_000);
afterAll(async () => {
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the operator CLI in the runtime image layout (dist/ and production dependencies only)', () => {
  it('has no TypeScript sources and no dev tools to lean on', () => {
    expect(existsSync(join(dir, 'dist/src/ops/main.js'))).toBe(true);
    expect(existsSync(join(dir, 'src'))).toBe(false);
    expect(existsSync(join(dir, 'node_modules/tsx'))).toBe(false);
    expect(existsSync(join(dir, 'node_modules/typescript'))).toBe(false);
    expect(existsSync(join(dir, 'node_modules/commander'))).toBe(true);
  });

  it('prints its version from the bin on PATH', async () => {
    const { stdout } = await run(bin, ['--version'], { cwd: dir, timeout: 30_000 });
    expect(stdout.trim()).toBe(packageVersion());
  });

  it('lists deposits as JSON from the real Redis, and finds one by a short id', async () => {
    const depositId = stack.deposit('5');
    expect((await stack.notify(depositId)).status).toBe(200);
    const env = { ...process.env, ...stack.env, PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}` };
    const list = await run('interlace-sweep-ops', ['deposits', 'list', '--json'], {
      cwd: dir,
      env,
      timeout: 30_000,
    });
    expect((JSON.parse(list.stdout) as { depositId: string }[]).map((d) => d.depositId)).toContain(depositId);
    const show = await run('interlace-sweep-ops', ['--json', 'deposits', 'show', depositId.slice(0, 8)], {
      cwd: dir,
      env,
      timeout: 30_000,
    });
    expect(JSON.parse(show.stdout)).toMatchObject({ deposit: { depositId, state: 'queued' } });
  });

  it('runs as `npm run ops` on dist/, as the package script says', async () => {
    const { stdout } = await run('npm', ['run', '--silent', 'ops', '--', '--version'], {
      cwd: dir,
      timeout: 60_000,
    });
    expect(stdout.trim()).toBe(packageVersion());
  });
});
