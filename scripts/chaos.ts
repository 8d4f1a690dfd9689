/**
 * `npm run chaos -- [--deposits N] [--seed S] [--report FILE] [--max-seconds T]`: the chaos soak
 * (scripts/chaos/run.ts). Prints one line, writes a JSON report, exits 1 on any violation.
 *
 * Also: --workers N (2-3 usual), --kills N (worker SIGKILLs; default from N), --payouts N (payouts
 * created while deposits arrive; default N/50, at least 3), --fault-scale X (upstream fault rates
 * multiplier, 0 = none), --keep-logs, --quiet.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runChaos, type ChaosOptions } from './chaos/run.js';

function parseOptions(argv: string[]): { options: Partial<ChaosOptions>; report: string } {
  const { values } = parseArgs({
    args: argv,
    options: {
      deposits: { type: 'string' },
      seed: { type: 'string' },
      report: { type: 'string', default: 'chaos-report.json' },
      'max-seconds': { type: 'string' },
      workers: { type: 'string' },
      kills: { type: 'string' },
      payouts: { type: 'string' },
      'fault-scale': { type: 'string' },
      'keep-logs': { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const options: Partial<ChaosOptions> = { keepLogs: values['keep-logs'], verbose: !values.quiet };
  const integer = (name: string, value: string | undefined, min: number, max: number): number | undefined => {
    if (value === undefined) return undefined;
    const parsed = Number(value);
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      throw new Error(`--${name} must be an integer from ${min} to ${max}, got "${value}"`);
    }
    return parsed;
  };
  const set = <K extends keyof ChaosOptions>(key: K, value: ChaosOptions[K] | undefined): void => {
    if (value !== undefined) options[key] = value;
  };
  set('deposits', integer('deposits', values.deposits, 20, 100_000));
  set('seed', integer('seed', values.seed, 0, 2 ** 32 - 1));
  set('maxSeconds', integer('max-seconds', values['max-seconds'], 10, 86_400));
  set('workers', integer('workers', values.workers, 2, 16));
  set('kills', integer('kills', values.kills, 1, 1_000));
  set('payouts', integer('payouts', values.payouts, 1, 10_000));
  if (values['fault-scale'] !== undefined) {
    const scale = Number(values['fault-scale']);
    if (!Number.isFinite(scale) || scale < 0 || scale > 4)
      throw new Error('--fault-scale must be from 0 to 4');
    options.faultScale = scale;
  }
  return { options, report: values.report };
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(process.argv.slice(2));
  } catch (error) {
    console.error(`chaos: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  const report = await runChaos(parsed.options);
  const file = resolve(parsed.report);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(report.line);
  if (!report.ok) {
    console.error(`chaos: ${report.violations.length} violation(s):`);
    for (const violation of report.violations) console.error(`  - ${violation}`);
    if (report.logDir) console.error(`chaos: service logs kept in ${report.logDir}`);
  }
  console.error(`chaos: report written to ${file} (seed ${report.seed}, ${report.timings.totalMs} ms)`);
  return report.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('chaos: the run itself failed:', error);
    process.exit(1);
  },
);
