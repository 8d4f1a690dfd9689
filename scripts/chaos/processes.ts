/**
 * The service's processes as a chaos run drives them: the receiver (`src/server.ts`) and sweep workers
 * (`workers/start-workers.ts`), each its own `node --import tsx` child with its output in a log file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export type ServiceKind = 'receiver' | 'worker';

const ENTRY: Record<ServiceKind, string> = { receiver: 'src/server.ts', worker: 'workers/start-workers.ts' };
const READY_LINE: Record<ServiceKind, string> = {
  receiver: 'receiver listening',
  worker: 'sweep worker started',
};

// Children still alive when the driver exits (a crash, a Ctrl-C) are killed, never left behind.
const live = new Set<ChildProcess>();
let hookInstalled = false;
function installExitHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

export class ServiceProcess {
  readonly child: ChildProcess;
  /** Resolves once the process logged that it is ready; rejects if it exits first or takes too long. */
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  isReady = false;

  constructor(
    readonly kind: ServiceKind,
    readonly name: string,
    env: Record<string, string>,
    logDir: string,
    readyTimeoutMs = 60_000,
  ) {
    installExitHook();
    const log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
    this.child = spawn(process.execPath, ['--import', 'tsx', ENTRY[kind]], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(this.child);
    this.exited = new Promise((done) =>
      this.child.once('exit', () => {
        live.delete(this.child);
        log.end();
        done();
      }),
    );
    this.child.stderr?.pipe(log, { end: false });
    this.ready = new Promise<void>((ok, fail) => {
      let tail = '';
      const timer = setTimeout(
        () => fail(new Error(`${name} not ready within ${readyTimeoutMs} ms`)),
        readyTimeoutMs,
      );
      timer.unref();
      this.child.stdout?.on('data', (chunk: Buffer) => {
        log.write(chunk);
        if (this.isReady) return;
        tail = (tail + chunk.toString('utf8')).slice(-4_096);
        if (tail.includes(READY_LINE[kind])) {
          this.isReady = true;
          clearTimeout(timer);
          ok();
        }
      });
      this.child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (!this.isReady)
          fail(new Error(`${name} exited before it was ready (code ${code}, signal ${signal})`));
      });
    });
    // A kill before readiness must not become an unhandled rejection.
    this.ready.catch(() => {});
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGKILL, as a crash or an OOM kill would, and waits for the exit. */
  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
  }
}
