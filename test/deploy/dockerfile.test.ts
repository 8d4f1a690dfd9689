import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

/** Just enough of the Dockerfile grammar for these checks: comments, line continuations, stages. */
function parseDockerfile(text: string): Stage[] {
  const lines: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw)) continue;
    const line = raw.trimEnd();
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const whole = (pending + line).trim();
    pending = '';
    if (whole !== '') lines.push(whole);
  }
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (keyword.toUpperCase() === 'FROM') {
      const [, from = '', name] = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args) ?? [];
      stages.push({ name: name ?? String(stages.length), from, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) throw new Error(`Dockerfile: ${keyword} before the first FROM`);
    stage.instructions.push({ keyword: keyword.toUpperCase(), args });
  }
  return stages;
}

const stages = parseDockerfile(read('Dockerfile'));

function stage(name: string): Stage {
  const found = stages.find((candidate) => candidate.name === name);
  if (found === undefined) throw new Error(`Dockerfile has no "${name}" stage`);
  return found;
}

function args(of: Stage, keyword: string): string[] {
  return of.instructions.filter((instruction) => instruction.keyword === keyword).map(({ args }) => args);
}

/** The exec-form CMD of a stage (the last one wins, as in Docker). */
function cmd(of: Stage): string[] {
  const last = args(of, 'CMD').at(-1);
  if (last === undefined) throw new Error(`stage ${of.name} has no CMD`);
  return JSON.parse(last) as string[];
}

function env(of: Stage): Record<string, string> {
  const pairs = args(of, 'ENV').flatMap((line) => line.split(/\s+/));
  return Object.fromEntries(pairs.map((pair) => pair.split('=', 2) as [string, string]));
}

const baseTsconfig = JSON.parse(read('tsconfig.json')) as {
  compilerOptions: { outDir?: string; rootDir?: string };
};
const buildTsconfig = JSON.parse(read('tsconfig.build.json')) as {
  extends?: string;
  compilerOptions?: { outDir?: string; rootDir?: string };
  include: string[];
};
const packageJson = JSON.parse(read('package.json')) as {
  scripts: Record<string, string>;
  engines: { node: string };
  config: { nodeFlags: string };
};
/** The V8 flags every service process starts with (package.json config.nodeFlags). */
const nodeFlags = packageJson.config.nodeFlags.split(' ');
// The Node release CI installs and runs every check on (.ci/run).
const ciNode = /^NODE_VERSION=(\S+)$/m.exec(read('.ci/run'))?.[1];
const nodeImage = `node:${ciNode}-bookworm-slim`;

/** a.b.c as comparable numbers. */
const release = (version: string) => version.split('.').map(Number) as [number, number, number];

describe('Dockerfile', () => {
  it('builds every stage from the Node 24 LTS release CI tests on, pinned exactly, or an earlier stage', () => {
    expect(ciNode, 'NODE_VERSION in .ci/run').toMatch(/^24\.\d+\.\d+$/);
    const seen = new Set<string>();
    for (const { name, from } of stages) {
      if (!seen.has(from)) expect(from, `stage ${name}`).toBe(nodeImage);
      seen.add(name);
    }
    expect(stages.map(({ name }) => name)).toEqual(
      expect.arrayContaining(['deps', 'build', 'simulator', 'runtime']),
    );
  });

  it('ends with the runtime stage, so a plain `docker build .` gives the production image', () => {
    expect(stages.at(-1)?.name).toBe('runtime');
  });

  it('compiles with the project build script in the build stage', () => {
    const build = stage('build');
    expect(build.from).toBe('deps');
    expect(args(stage('deps'), 'RUN')).toContain('npm ci');
    expect(args(build, 'RUN')).toContain('npm run build');
    expect(packageJson.scripts.build).toBe('tsc -p tsconfig.build.json');
    // Everything tsc needs must be in the build context of this stage.
    const copied = args(build, 'COPY').flatMap((line) => line.split(/\s+/).slice(0, -1));
    expect(copied).toEqual(expect.arrayContaining(['tsconfig.json', 'tsconfig.build.json']));
    for (const dir of buildTsconfig.include) expect(copied, `COPY ${dir}`).toContain(dir);
  });

  it('keeps dev dependencies in the simulator image, which runs TypeScript through tsx', () => {
    const simulator = stage('simulator');
    expect(simulator.from).toBe('deps');
    expect(cmd(simulator)).toEqual(['npm', 'run', 'simulator']);
    expect(packageJson.scripts.simulator).toMatch(/^(tsx |node --import tsx )/);
    expect(args(simulator, 'EXPOSE')).toContain('4010');
    expect(env(simulator).SIMULATOR_HOST).toBe('0.0.0.0');
  });

  it('ships a runtime image with production dependencies only, as the node user', () => {
    const runtime = stage('runtime');
    expect(runtime.from).toBe(nodeImage);
    expect(args(runtime, 'RUN').some((line) => line.includes('npm ci --omit=dev'))).toBe(true);
    expect(args(runtime, 'COPY')).toContainEqual(expect.stringMatching(/^--from=build \S*\/dist \S+$/));
    expect(args(runtime, 'USER')).toEqual(['node']);
    expect(env(runtime).NODE_ENV).toBe('production');
    expect(args(runtime, 'EXPOSE')).toContain('3000');
    expect(cmd(runtime)).toEqual(['node', ...nodeFlags, 'dist/workers/start-service.js']);
  });

  it("starts every process with package.json's V8 flags (the bench runs the service with them)", () => {
    expect(nodeFlags).toEqual(['--max-semi-space-size=16', '--heap-growing-percent=100']);
    const { scripts } = packageJson;
    for (const name of ['start', 'start:api', 'start:worker'])
      expect(scripts[name], name).toMatch(/ node \$npm_package_config_nodeFlags dist\//);
  });

  it("ships a Node release inside package.json's engines range", () => {
    const minimum = /^>=(\d+\.\d+\.\d+)$/.exec(packageJson.engines.node)?.[1];
    expect(minimum, 'engines.node is ">=a.b.c"').toBeDefined();
    const rank = ([major, minor, patch]: [number, number, number]) => (major * 1_000 + minor) * 1_000 + patch;
    expect(rank(release(ciNode!))).toBeGreaterThanOrEqual(rank(release(minimum!)));
  });

  it('keeps node_modules, dist, .git, coverage and logs out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim());
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git', 'coverage', '*.log']));
  });
});

describe('entry points the images run', () => {
  it('are emitted by tsconfig.build.json as dist/<path>.js for <path>.ts', () => {
    expect(buildTsconfig.extends).toBe('./tsconfig.json');
    expect(buildTsconfig.compilerOptions?.outDir ?? baseTsconfig.compilerOptions.outDir).toBe('dist');
    expect(buildTsconfig.compilerOptions?.rootDir ?? baseTsconfig.compilerOptions.rootDir).toBe('.');
  });

  // Written alongside this test by others: these fail until the entry points exist.
  it.each([
    ['dist/src/server.js', 'src/server.ts'],
    ['dist/workers/start-workers.js', 'workers/start-workers.ts'],
    ['dist/workers/start-service.js', 'workers/start-service.ts'],
  ])('%s is built from %s', (distPath, source) => {
    expect(buildTsconfig.include, `tsconfig.build.json compiles ${source}`).toContain(source.split('/')[0]);
    expect(existsSync(join(root, source)), `${source} exists`).toBe(true);
    expect(Object.values(packageJson.scripts).join('\n')).toContain(distPath);
  });
});
