import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');

interface Service {
  image?: string;
  build?: string | { context?: string; target?: string };
  command?: string | string[];
  environment?: Record<string, unknown> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  deploy?: { replicas?: number };
  profiles?: string[];
  ports?: (string | number | { target?: number; published?: number | string })[];
  volumes?: (string | { source?: string; target?: string })[];
  healthcheck?: { test?: string | string[] };
  stop_grace_period?: string;
}

interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const composeText = read('docker-compose.yml');
const compose = parse(composeText) as ComposeFile;

function service(name: string): Service {
  const found = compose.services[name];
  if (found === undefined) throw new Error(`docker-compose.yml has no "${name}" service`);
  return found;
}

function words(command: string | string[] | undefined): string[] {
  if (command === undefined) return [];
  return Array.isArray(command) ? command.map(String) : command.trim().split(/\s+/);
}

function envNames(svc: Service): string[] {
  const env = svc.environment ?? {};
  return Array.isArray(env) ? env.map((entry) => entry.split('=')[0]!) : Object.keys(env);
}

function dependsOnHealthy(svc: Service, dependency: string): boolean {
  const deps = svc.depends_on;
  return deps !== undefined && !Array.isArray(deps) && deps[dependency]?.condition === 'service_healthy';
}

/** The settings src/config.ts reads: the UPPER_CASE keys of its zod schema. */
function configVariableNames(): Set<string> {
  return new Set([...read('src/config.ts').matchAll(/^\s+([A-Z][A-Z0-9_]+):/gm)].map((match) => match[1]!));
}

/** SIMULATOR_* settings: SIMULATOR_HOST (the contract for the demo image) and any the simulator reads. */
function simulatorVariableNames(): Set<string> {
  const names = new Set(['SIMULATOR_HOST']);
  const dir = join(root, 'simulator');
  if (existsSync(dir)) {
    for (const file of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts')) continue;
      const text = readFileSync(join(dir, file), 'utf8');
      for (const match of text.matchAll(/\bSIMULATOR_[A-Z0-9_]+\b/g)) names.add(match[0]);
    }
  }
  return names;
}

/** `dist/<path>.js` is what tsconfig.build.json emits for `<path>.ts` (outDir dist, rootDir .). */
function sourceOf(distPath: string): string {
  const match = /^dist\/(.+)\.js$/.exec(distPath);
  if (match === null) throw new Error(`${distPath} is not a file under dist/`);
  return `${match[1]}.ts`;
}

describe('docker-compose.yml', () => {
  it('runs Redis with AOF persistence and noeviction on a named volume', () => {
    const redis = service('redis');
    expect(redis.image).toMatch(/^redis:7/);
    const args = words(redis.command);
    expect(args[args.indexOf('--appendonly') + 1]).toBe('yes');
    expect(args).toContain('--appendonly');
    expect(args[args.indexOf('--maxmemory-policy') + 1]).toBe('noeviction');
    expect(args).toContain('--maxmemory-policy');

    const dataVolume = (redis.volumes ?? [])
      .map((volume) => (typeof volume === 'string' ? volume.split(':') : [volume.source, volume.target]))
      .find(([, target]) => target === '/data');
    expect(dataVolume, 'redis needs a volume mounted at /data').toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(dataVolume![0]);
  });

  it('health-checks Redis with redis-cli ping', () => {
    expect(words(service('redis').healthcheck?.test)).toEqual(expect.arrayContaining(['redis-cli', 'ping']));
  });

  it('runs the api on port 3000, health-checked on /healthz, once Redis is healthy', () => {
    const api = service('api');
    expect(words(api.command)).toEqual(['node', 'dist/src/server.js']);
    expect(api.ports?.map(String)).toContain('3000:3000');
    expect(words(api.healthcheck?.test).join(' ')).toContain('http://localhost:3000/healthz');
    expect(dependsOnHealthy(api, 'redis')).toBe(true);
    expect(envNames(api)).toEqual(expect.arrayContaining(['REDIS_URL', 'INTERLACE_CLIENT_ID']));
  });

  it('runs two worker replicas once Redis is healthy', () => {
    const worker = service('worker');
    expect(words(worker.command)).toEqual(['node', 'dist/workers/start-workers.js']);
    expect(worker.deploy?.replicas).toBe(2);
    expect(dependsOnHealthy(worker, 'redis')).toBe(true);
    // Replicas cannot all bind one host port.
    expect(worker.ports ?? []).toEqual([]);
  });

  it('points the api and the workers at the compose Redis', () => {
    for (const name of ['api', 'worker']) {
      const env = service(name).environment as Record<string, unknown>;
      expect(env.REDIS_URL, name).toBe('redis://redis:6379');
    }
  });

  it('requires the Interlace credentials from the host instead of shipping defaults', () => {
    for (const name of ['INTERLACE_CLIENT_ID', 'INTERLACE_CLIENT_SECRET']) {
      expect(composeText).toMatch(new RegExp(`\\$\\{${name}:\\?[^}]+\\}`));
    }
  });

  it('gives workers time to finish jobs before Docker kills them', () => {
    const defaultShutdownMs = /SHUTDOWN_TIMEOUT_MS:\s*int\(\s*([\d_]+)/.exec(read('src/config.ts'))?.[1];
    expect(defaultShutdownMs, 'SHUTDOWN_TIMEOUT_MS default in src/config.ts').toBeDefined();
    for (const name of ['api', 'worker']) {
      const grace = /^(\d+)s$/.exec(service(name).stop_grace_period ?? '')?.[1];
      expect(grace, `${name}.stop_grace_period in whole seconds`).toBeDefined();
      expect(Number(grace) * 1000).toBeGreaterThan(Number(defaultShutdownMs!.replace(/_/g, '')));
    }
  });

  it('only starts the simulator with the demo profile', () => {
    const simulator = service('simulator');
    expect(simulator.profiles).toEqual(['demo']);
    expect(simulator.build).toMatchObject({ target: 'simulator' });
    expect(words(simulator.command)).toEqual(['npm', 'run', 'simulator']);
    expect(simulator.ports?.map(String)).toContain('4010:4010');
    expect((simulator.environment as Record<string, unknown>).SIMULATOR_HOST).toBe('0.0.0.0');
    for (const [name, svc] of Object.entries(compose.services)) {
      if (name !== 'simulator') expect(svc.profiles, `${name} must run without a profile`).toBeUndefined();
    }
  });

  it('sets only environment variables the services read', () => {
    const configNames = configVariableNames();
    // Sanity check on the extraction itself, so a reformatted config.ts fails loudly here.
    expect(configNames).toContain('INTERLACE_CLIENT_ID');
    expect(configNames).toContain('REDIS_URL');
    const known = new Set([...configNames, ...simulatorVariableNames()]);

    for (const [name, svc] of Object.entries(compose.services)) {
      for (const variable of envNames(svc))
        expect(known, `${name}.environment.${variable}`).toContain(variable);
    }
    // Host variables interpolated anywhere in the file, e.g. ${INTERLACE_BASE_URL:-}.
    for (const match of composeText.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)) {
      expect(known, `\${${match[1]}}`).toContain(match[1]);
    }
  });

  it('runs commands that point at files the build emits', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      const args = words(svc.command);
      if (args[0] !== 'node') continue;
      const source = sourceOf(args[1]!);
      expect(existsSync(join(root, source)), `${name} runs ${args[1]}, built from ${source}`).toBe(true);
    }
  });
});
