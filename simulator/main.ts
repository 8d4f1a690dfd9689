import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadSimulatorEnv, SimulatorEnvError, type SimulatorEnv } from './env.js';
import { createSimulator } from './simulator.js';
import { startDepositDriver } from './deposit-driver.js';

// A second signal, or a close that somehow stalls, must still end the process.
const FORCED_EXIT_MS = 5_000;

/** `npm run simulator`: reads the environment, listens, prints the base URL, closes on SIGTERM/SIGINT. */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let config: SimulatorEnv;
  try {
    config = loadSimulatorEnv(env);
  } catch (error) {
    if (!(error instanceof SimulatorEnvError)) throw error;
    for (const problem of error.problems) console.error(`simulator: ${problem.variable} ${problem.message}`);
    process.exitCode = 1;
    return;
  }
  const sim = createSimulator(config.options);
  let url: string;
  try {
    ({ url } = await sim.listen(config.port, config.host));
  } catch (error) {
    console.error(`simulator: cannot listen on ${config.host}:${config.port}: ${String(error)}`);
    process.exitCode = 1;
    return;
  }
  const driver = config.drive
    ? startDepositDriver(sim, { ...config.drive, log: (line) => console.log(`simulator: ${line}`) })
    : undefined;
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1);
    stopping = true;
    driver?.stop();
    setTimeout(() => process.exit(1), FORCED_EXIT_MS).unref();
    sim.close().then(
      () => {
        console.error(`simulator: closed on ${signal}`);
        process.exitCode = 0;
      },
      (error: unknown) => {
        console.error(`simulator: close failed: ${String(error)}`);
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // Printed last: whoever waits for this line may signal the process at once.
  console.log(`interlace simulator listening on ${url} (open api ${url}/open-api/v3, control ${url}/_sim)`);
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main().catch((error: unknown) => {
    console.error(`simulator: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  });
}
