import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');
/** The V8 flags every service process starts with (package.json config.nodeFlags). */
const nodeFlags = (
  JSON.parse(read('package.json')) as { config: { nodeFlags: string } }
).config.nodeFlags.split(' ');

interface EnvFile {
  path: string;
  required?: boolean;
}

interface Service {
  image?: string;
  env_file?: string | (string | EnvFile)[];
  expose?: (string | number)[];
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
// `<<: *anchor` merge keys, as Docker Compose reads them.
const compose = parse(composeText, { merge: true }) as ComposeFile;

/** Variables Compose itself reads (not the service): where the env file is, Redis's memory cap. */
const COMPOSE_VARIABLES = new Set(['ENV_FILE', 'REDIS_MAXMEMORY']);

/** `${NAME:-default}` as Compose would resolve it with NAME unset. */
function withDefaults(text: string): string {
  return text.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}/g, '$1');
}

/** KEY=value lines and commented `# KEY=value` examples of an env file, by name. */
function envFileNames(path: string, { commented }: { commented: boolean }): string[] {
  const pattern = commented ? /^#?\s*([A-Z][A-Z0-9_]*)=/ : /^([A-Z][A-Z0-9_]*)=/;
  return read(path)
    .split('\n')
    .map((line) => pattern.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);
}

function envFiles(svc: Service): EnvFile[] {
  const files = svc.env_file === undefined ? [] : Array.isArray(svc.env_file) ? svc.env_file : [svc.env_file];
  return files.map((file) => (typeof file === 'string' ? { path: file } : file));
}

/** Every variable of the app environment a service ends up with, merged anchors included. */
function env(svc: Service): Record<string, string> {
  return (svc.environment ?? {}) as Record<string, string>;
}

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
    // noeviction without a cap only means Redis grows until the host kills it.
    expect(args).toContain('--maxmemory');
    expect(withDefaults(args[args.indexOf('--maxmemory') + 1]!)).toMatch(/^\d+(mb|gb)$/);

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
    expect(words(api.command)).toEqual(['node', ...nodeFlags, 'dist/src/server.js']);
    expect(api.ports?.map(String)).toContain('3000:3000');
    expect(env(api).PORT).toBe('3000');
    expect(words(api.healthcheck?.test).join(' ')).toContain('http://localhost:3000/healthz');
    expect(dependsOnHealthy(api, 'redis')).toBe(true);
    expect(envNames(api)).toEqual(expect.arrayContaining(['REDIS_URL', 'INTERLACE_CLIENT_ID']));
  });

  it('serves metrics, readiness and the dashboard on an admin port published on loopback only', () => {
    const api = service('api');
    const adminPort = env(api).ADMIN_PORT;
    expect(Number(adminPort)).toBeGreaterThan(0);
    expect(adminPort).not.toBe(env(api).PORT);
    // Inside the container it must bind all interfaces for Docker to forward it ...
    expect(env(api).ADMIN_HOST).toBe('0.0.0.0');
    // ... so the host side is what keeps it private.
    const published = (api.ports ?? []).map(String).filter((port) => port.endsWith(`:${adminPort}`));
    expect(published).toEqual([`127.0.0.1:${adminPort}:${adminPort}`]);
  });

  it('runs two worker replicas once Redis is healthy, each with its own /metrics port', () => {
    const worker = service('worker');
    expect(words(worker.command)).toEqual(['node', ...nodeFlags, 'dist/workers/start-workers.js']);
    expect(worker.deploy?.replicas).toBe(2);
    expect(dependsOnHealthy(worker, 'redis')).toBe(true);
    // Replicas cannot all bind one host port: metrics are scraped inside the compose network.
    expect(worker.ports ?? []).toEqual([]);
    const metricsPort = env(worker).METRICS_PORT;
    expect(Number(metricsPort)).toBeGreaterThan(0);
    expect((worker.expose ?? []).map(String)).toContain(metricsPort);
    expect(env(worker).HOST).toBe('0.0.0.0');
  });

  it('points the api and the workers at the compose Redis', () => {
    for (const name of ['api', 'worker']) {
      const env = service(name).environment as Record<string, unknown>;
      expect(env.REDIS_URL, name).toBe('redis://redis:6379');
    }
  });

  it('tells alerts and the dashboard to name the CLI as it runs in this stack', () => {
    for (const name of ['api', 'worker'])
      expect(env(service(name)).OPS_COMMAND_HINT).toBe('docker compose exec worker interlace-sweep-ops');
    expect(read('Dockerfile')).toMatch(
      /ln -s \/app\/dist\/src\/ops\/main\.js \/usr\/local\/bin\/interlace-sweep-ops/,
    );
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
    expect(env(simulator).SIMULATOR_HOST).toBe('0.0.0.0');
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
    // Host variables interpolated anywhere in the file, e.g. ${BUILD_COMMIT:-}.
    for (const match of composeText.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)) {
      expect(new Set([...known, ...COMPOSE_VARIABLES]), `\${${match[1]}}`).toContain(match[1]);
    }
    // And every variable the committed env files set or show.
    for (const file of ['.env.example', '.env.demo'])
      for (const variable of envFileNames(file, { commented: true }))
        expect(new Set([...known, ...COMPOSE_VARIABLES]), `${file}: ${variable}`).toContain(variable);
  });

  it('hands every app container an env file that has a committed template, listing every setting', () => {
    for (const name of ['api', 'worker', 'simulator']) {
      const files = envFiles(service(name));
      expect(
        files.map((file) => withDefaults(file.path)),
        name,
      ).toEqual(['.env']);
    }
    // .env itself is the operator's (gitignored): .env.example is its template.
    expect(existsSync(join(root, '.env.example'))).toBe(true);
    expect(read('.gitignore').split('\n')).toContain('.env');
    const documented = new Set(envFileNames('.env.example', { commented: true }));
    for (const variable of configVariableNames())
      expect(documented, `.env.example documents ${variable}`).toContain(variable);
  });

  it('has a demo env file that points the service at the simulator with the same credentials', () => {
    const demo = Object.fromEntries(
      read('.env.demo')
        .split('\n')
        .map((line) => /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line))
        .filter((match): match is RegExpExecArray => match !== null)
        .map((match) => [match[1]!, match[2]!]),
    );
    // The containers read the demo file itself, so the service and the simulator share one set of
    // credentials (the simulator takes INTERLACE_CLIENT_ID/SECRET from it).
    expect(demo.ENV_FILE).toBe('.env.demo');
    expect(demo.INTERLACE_BASE_URL).toBe('http://simulator:4010');
    expect(demo.INTERLACE_CLIENT_ID).toBeTruthy();
    expect(demo.INTERLACE_CLIENT_SECRET).toBeTruthy();
    expect(demo.DASHBOARD_USER && demo.DASHBOARD_PASSWORD).toBeTruthy();
    const simulator = service('simulator');
    expect(envFiles(simulator).map((file) => file.path)).toEqual(
      envFiles(service('api')).map((file) => file.path),
    );
    // Something drives deposits: the simulator notifies the api's webhook by itself.
    expect(env(simulator).SIMULATOR_DRIVE_WEBHOOK_URL).toBe(
      `http://api:${env(service('api')).PORT}/webhooks/interlace`,
    );
    expect(Number(demo.SIMULATOR_DRIVE_INTERVAL_MS)).toBeGreaterThan(0);
  });

  it('runs commands that point at files the build emits, or at package scripts that exist', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    for (const [name, svc] of Object.entries(compose.services)) {
      const args = words(svc.command);
      if (args[0] === 'node') {
        const file = args.slice(1).find((arg) => !arg.startsWith('--'))!;
        const source = sourceOf(file);
        expect(existsSync(join(root, source)), `${name} runs ${file}, built from ${source}`).toBe(true);
      } else if (args[0] === 'npm') {
        expect(args[1], `${name}: npm run <script>`).toBe('run');
        const script = scripts[args[2]!];
        expect(script, `${name} runs npm script ${args[2]}`).toBeDefined();
        for (const file of script!.match(/[\w./-]+\.ts\b/g) ?? [])
          expect(existsSync(join(root, file)), `${name}: ${file}`).toBe(true);
      } else {
        expect(svc.image, `${name} runs its image's own command`).toMatch(/^redis:/);
      }
    }
  });
});
