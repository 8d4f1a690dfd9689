import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './ports.js';

export interface RedisServerOptions {
  /** Turns the append-only file on, so data written before `stop()`/`kill()` is there after `start()`. */
  appendonly?: boolean;
  /** Working directory (AOF lives here). Defaults to a fresh temp dir, deleted by `dispose()` or at exit. */
  dir?: string;
  /** Defaults to a free loopback port. */
  port?: number;
  /** Extra `redis-server` arguments, e.g. `['--appendfsync', 'always']`. */
  args?: readonly string[];
  /** Upper bound on waiting for "Ready to accept connections"; a deadline, not a delay. */
  readyTimeoutMs?: number;
}

export interface RedisServerHandle {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** The pid of the current `redis-server` process, undefined while stopped. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Starts it again on the same port and dir (throws if it is already running). */
  start(): Promise<void>;
  /** SIGTERM (Redis shuts down cleanly, flushing the AOF) and waits for the process to exit. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would, and waits for the process to exit. */
  kill(): Promise<void>;
  /** SIGSTOP: the process holds its connections open but answers nothing, like a hung server. */
  pause(): void;
  /** SIGCONT after `pause()`. */
  unpause(): void;
  /** Kills the process if running and deletes the dir if this helper created it. */
  dispose(): Promise<void>;
}

const READY_LINE = 'Ready to accept connections';
const STOP_DEADLINE_MS = 10_000;
const PORT_ATTEMPTS = 5;

// Children and temp dirs still alive when the test process exits (a crashed or forgetful test) are
// cleaned up here, so a run never leaves redis-server processes behind.
const liveChildren = new Set<ChildProcess>();
const ownedDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of liveChildren) child.kill('SIGKILL');
    for (const dir of ownedDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** True when a `redis-server` executable is on PATH. */
export function hasRedisServerBinary(): boolean {
  const names = process.platform === 'win32' ? ['redis-server.exe'] : ['redis-server'];
  for (const entry of (process.env.PATH ?? '').split(delimiter)) {
    if (entry === '') continue;
    for (const name of names) {
      try {
        accessSync(join(entry, name), constants.X_OK);
        return true;
      } catch {
        // not in this PATH entry
      }
    }
  }
  return false;
}

/** Spawns a real `redis-server` on 127.0.0.1 and resolves once it accepts connections. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
  installExitHook();
  let dir = options.dir;
  let ownsDir = false;
  if (dir === undefined) {
    dir = await mkdtemp(join(tmpdir(), 'redis-test-'));
    ownsDir = true;
    ownedDirs.add(dir);
  }
  const settings = {
    appendonly: options.appendonly ?? false,
    dir,
    args: options.args ?? [],
    readyTimeoutMs: options.readyTimeoutMs ?? 15_000,
  };
  try {
    if (options.port !== undefined) {
      const child = await launch({ ...settings, port: options.port });
      return new RedisServer(options.port, settings, ownsDir, child);
    }
    // freePort() cannot reserve the port, so losing the race to another process is retried on a new one.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      try {
        const child = await launch({ ...settings, port });
        return new RedisServer(port, settings, ownsDir, child);
      } catch (error) {
        if (!(error instanceof RedisServerStartError && error.addressInUse) || attempt >= PORT_ATTEMPTS)
          throw error;
      }
    }
  } catch (error) {
    if (ownsDir) {
      ownedDirs.delete(dir);
      await rm(dir, { recursive: true, force: true });
    }
    throw error;
  }
}

interface LaunchSettings {
  port: number;
  appendonly: boolean;
  dir: string;
  args: readonly string[];
  readyTimeoutMs: number;
}

export class RedisServerStartError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(`${message}\n--- redis-server output ---\n${output}`);
    this.name = 'RedisServerStartError';
  }

  get addressInUse(): boolean {
    return /address already in use/i.test(this.output);
  }
}

class RedisServer implements RedisServerHandle {
  readonly url: string;
  private child: ChildProcess | undefined;
  private paused = false;

  constructor(
    readonly port: number,
    private readonly settings: Omit<LaunchSettings, 'port'>,
    private readonly ownsDir: boolean,
    child: ChildProcess,
  ) {
    this.url = `redis://127.0.0.1:${port}`;
    this.child = child;
  }

  get dir(): string {
    return this.settings.dir;
  }

  get pid(): number | undefined {
    return this.child !== undefined && isAlive(this.child) ? this.child.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && isAlive(this.child);
  }

  async start(): Promise<void> {
    if (this.running) throw new Error(`redis-server on port ${this.port} is already running`);
    this.paused = false;
    this.child = await launch({ ...this.settings, port: this.port });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || !isAlive(child)) return;
    // A stopped process only acts on SIGTERM once it runs again.
    if (this.paused) this.unpause();
    child.kill('SIGTERM');
    const deadline = setTimeout(() => child.kill('SIGKILL'), STOP_DEADLINE_MS);
    try {
      await exited(child);
    } finally {
      clearTimeout(deadline);
    }
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined || !isAlive(child)) return;
    child.kill('SIGKILL');
    this.paused = false;
    await exited(child);
  }

  pause(): void {
    const child = this.requireRunning();
    child.kill('SIGSTOP');
    this.paused = true;
  }

  unpause(): void {
    const child = this.requireRunning();
    child.kill('SIGCONT');
    this.paused = false;
  }

  async dispose(): Promise<void> {
    await this.kill();
    if (this.ownsDir) {
      ownedDirs.delete(this.settings.dir);
      await rm(this.settings.dir, { recursive: true, force: true });
    }
  }

  private requireRunning(): ChildProcess {
    if (this.child === undefined || !isAlive(this.child)) {
      throw new Error(`redis-server on port ${this.port} is not running`);
    }
    return this.child;
  }
}

function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function exited(child: ChildProcess): Promise<void> {
  if (!isAlive(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

function launch(settings: LaunchSettings): Promise<ChildProcess> {
  const args = [
    '--port',
    String(settings.port),
    '--bind',
    '127.0.0.1',
    '--dir',
    settings.dir,
    '--save',
    '',
    '--appendonly',
    settings.appendonly ? 'yes' : 'no',
    '--daemonize',
    'no',
    '--loglevel',
    'notice',
    ...settings.args,
  ];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));

  return new Promise((resolve, reject) => {
    const tail: string[] = [];
    let partial = '';
    let settled = false;

    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.off('exit', onExit);
      if (error) {
        if (isAlive(child)) child.kill('SIGKILL');
        reject(error);
      } else {
        resolve(child);
      }
    };
    // Keeps reading for the life of the process: an unread pipe would eventually block redis-server.
    const onOutput = (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        tail.push(line);
        if (tail.length > 40) tail.shift();
        if (!settled && line.includes(READY_LINE)) settle();
      }
    };
    const output = () => [...tail, partial].join('\n').trim();
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      settle(
        new RedisServerStartError(
          `redis-server on port ${settings.port} exited before it was ready (code ${code}, signal ${signal})`,
          output(),
        ),
      );
    const onError = (error: Error) =>
      settle(new RedisServerStartError(`could not spawn redis-server: ${error.message}`, output()));
    const timer = setTimeout(
      () =>
        settle(
          new RedisServerStartError(
            `redis-server on port ${settings.port} was not ready within ${settings.readyTimeoutMs} ms`,
            output(),
          ),
        ),
      settings.readyTimeoutMs,
    );

    child.stdout?.on('data', onOutput);
    child.stderr?.on('data', onOutput);
    child.once('exit', onExit);
    // Stays attached: a later 'error' (a failed signal) must not crash the test process.
    child.on('error', onError);
  });
}
