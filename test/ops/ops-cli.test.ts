import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { deleteKeysWithPrefix } from '../helpers/redis.js';
import { writeDeadLetter } from '../../src/queues/dead-letter.js';
import { sweepJobId } from '../../src/queues/names.js';
import { sweepTransactionId } from '../../src/sweep/transaction-id.js';
import type { AuditEntry } from '../../src/ops/audit-log.js';
import type { DepositDetails } from '../../src/ops/deposit-show.js';
import type { ReplayOutcome } from '../../src/ops/dlq-replay.js';
import type { EventReplayReport } from '../../src/ops/events-replay.js';
import type { DeadLetter } from '../../src/ops/dead-letters.js';
import { cli, cliOn, keysUnder, snapshotKeys } from './cli-harness.js';
import { packageVersion } from '../../src/build-info.js';

const OPERATOR = 'test-operator';
let stack: Stack;
let env: Record<string, string | undefined>;
const ops = (...argv: string[]) => cli(env, ...argv, '--operator', OPERATOR);

beforeAll(async () => {
  stack = await startStack('ops-cli', { env: { SWEEP_ATTEMPTS: '3' } });
  env = { ...stack.env };
});
afterAll(async () => {
  await stack?.close();
});

async function sweptDeposit(amount = '10'): Promise<string> {
  const depositId = stack.deposit(amount);
  expect((await stack.notify(depositId)).status).toBe(200);
  expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
  return depositId;
}

async function deadDeposit(amount = '12'): Promise<string> {
  stack.sim.faults.enqueue('transfer', { kind: 'business-error', code: '010021' }, 1);
  const depositId = stack.deposit(amount);
  expect((await stack.notify(depositId)).status).toBe(200);
  expect(await stack.settled(depositId)).toMatchObject({ status: 'failed' });
  expect((await stack.record(depositId)).state).toBe('dead');
  return depositId;
}

async function unchanged<T>(action: () => Promise<T>): Promise<T> {
  const keysBefore = await snapshotKeys(stack.redis, stack.prefix);
  const transfersBefore = stack.sim.transfers().length;
  const result = await action();
  expect(await snapshotKeys(stack.redis, stack.prefix)).toEqual(keysBefore);
  expect(stack.sim.transfers()).toHaveLength(transfersBefore);
  return result;
}

async function auditCommands(): Promise<AuditEntry[]> {
  const run = await ops('audit', 'list', '--limit', '1000', '--json');
  expect(run.code).toBe(0);
  return run.json<AuditEntry[]>();
}

describe('bad input: non-zero exit and one clear line, never a stack trace', () => {
  it.each([
    [['frobnicate', 'now'], 2, /unknown command 'frobnicate'/],
    [['deposit', 'list'], 2, /unknown command 'deposit' \(Did you mean deposits\?\)/],
    [['deposits', 'lsit'], 2, /unknown command 'lsit' \(Did you mean list\?\)/],
    [['dlq', 'purge', 'x'], 2, /add --yes to confirm/],
    [['deposits', 'list', '--since', 'last tuesday'], 2, /--since: "last tuesday" is not a time/],
    [['deposits', 'list', '--state', 'lost'], 2, /argument 'lost' is invalid. Allowed choices are pending/],
    [['deposits', 'list', '--bogus'], 2, /unknown option '--bogus'/],
    [['deposits', 'list', '--limit', '0'], 2, /--limit: "0" is not a positive integer/],
    [['deposits', 'show'], 2, /missing required argument 'ref'/],
    [['deposits', 'show', 'no-such-deposit'], 1, /unknown deposit: no deposit or tx hash "no-such-deposit"/],
    [
      ['sweep', 'enqueue', 'no-such-deposit'],
      1,
      /unknown deposit no-such-deposit: not in the ledger nor in the event log/,
    ],
    [['events', 'replay'], 2, /--since is required/],
    [['dlq', 'replay'], 2, /give dead-letter ids, or --all, or --reason/],
    [['dlq', 'replay', 'x', '--limit', '3'], 2, /--limit goes with --all or --reason/],
  ])('%j → exit %i', async (argv, exitCode, message) => {
    const run = await ops(...argv);
    expect(run.code).toBe(exitCode);
    expect(run.err).toMatch(message);
    expect(run.err).toMatch(/^interlace-sweep-ops: /);
    expect(run.err.trim().split('\n')).toHaveLength(1);
    expect(run.err).not.toMatch(/\n\s+at /);
    expect(run.out).toBe('');
  });

  it('reports a bad configuration without a stack trace', async () => {
    const run = await cli({ ...env, REDIS_URL: 'http://nope' }, 'deposits', 'list');
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/invalid configuration: REDIS_URL: must start with redis:\/\//);
  });
});

describe('deposits show / list', () => {
  it('shows a swept deposit by id and by tx hash, with its last notification, job and no dead letter', async () => {
    const depositId = await sweptDeposit('10');
    const [transfer] = stack.transfersFor(depositId);
    const byId = await ops('deposits', 'show', depositId, '--json');
    expect(byId.code).toBe(0);
    const details = byId.json<DepositDetails>();
    expect(details.deposit).toMatchObject({
      depositId,
      state: 'swept',
      amount: '10',
      currency: 'USDC',
      clientTransactionId: sweepTransactionId(depositId),
      transferId: transfer!.id,
      netAmount: '9.95',
    });
    // A swept record keeps its last notification id only (docs/capacity.md), not the set of them.
    expect(details.notificationIds).toEqual([]);
    expect(details.deposit.lastNotificationId).toEqual(expect.any(String));
    expect(details.sweepJob).toMatchObject({ id: sweepJobId(depositId), state: 'completed' });
    expect(details.deadLetter).toBeNull();

    const byTx = await ops('deposits', 'show', details.deposit.txHash!, '--json');
    expect(byTx.json<DepositDetails>().deposit.depositId).toBe(depositId);

    const text = await ops('deposits', 'show', depositId);
    expect(text.out).toContain(`transferId`);
    expect(text.out).toContain(transfer!.id);
  });

  it('lists deposits filtered by state, wallet and time, as a table or JSON', async () => {
    const depositId = await sweptDeposit('11');
    const json = await ops(
      'deposits',
      'list',
      '--state',
      'swept',
      '--wallet',
      stack.wallet.id,
      '--since',
      '1h',
      '--json',
    );
    expect(json.code).toBe(0);
    expect(json.json<{ depositId: string }[]>().map((d) => d.depositId)).toContain(depositId);

    const none = await ops('deposits', 'list', '--until', '2000-01-01T00:00:00Z', '--json');
    expect(none.json()).toEqual([]);

    const table = await ops('deposits', 'list', '--limit', '1');
    expect(table.out.split('\n')[0]).toMatch(/^depositId\s+state\s+currency\s+amount/);
    expect(table.out).toContain(depositId);
  });
});

describe('dead letters', () => {
  it('lists, shows, dry-runs and replays a failed sweep: one transfer, same clientTransactionId', async () => {
    const depositId = await deadDeposit('12');
    const letterId = `deposit-${depositId}`;

    const list = await ops('dlq', 'list', '--json');
    const letter = list.json<DeadLetter[]>().find((l) => l.id === letterId);
    expect(letter).toMatchObject({ kind: 'sweep-failed', depositId });
    const byReason = await ops('dlq', 'list', '--reason', letter!.reason.slice(0, 8), '--json');
    expect(byReason.json<DeadLetter[]>().map((l) => l.id)).toContain(letterId);
    const noMatch = await ops('dlq', 'list', '--reason', 'zzz-no-such-reason', '--json');
    expect(noMatch.json()).toEqual([]);
    const shown = await ops('dlq', 'show', depositId, '--json');
    expect(shown.json<DeadLetter>()).toMatchObject({ id: letterId, depositId, reason: letter!.reason });

    const dry = await unchanged(() => ops('dlq', 'replay', letterId, '--dry-run', '--json'));
    expect(dry.code).toBe(0);
    expect(dry.json<{ outcomes: ReplayOutcome[] }>().outcomes).toEqual([
      expect.objectContaining({
        outcome: 'would-replay',
        depositId,
        currency: 'USDC',
        amount: '12',
        clientTransactionId: sweepTransactionId(depositId),
      }),
    ]);
    expect(stack.transfersFor(depositId)).toHaveLength(0);

    const replay = await ops('dlq', 'replay', depositId);
    expect(replay.code).toBe(0);
    expect(replay.out).toContain(sweepTransactionId(depositId));
    expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
    const transfers = stack.transfersFor(depositId);
    expect(transfers).toHaveLength(1);
    expect(transfers[0]!.clientTransactionId).toBe(sweepTransactionId(depositId));
    expect(await stack.record(depositId)).toMatchObject({ state: 'swept', replayedBy: OPERATOR });
    expect(await stack.deadQueue.getJob(letterId)).toBeUndefined();

    const again = await ops('dlq', 'replay', letterId);
    expect(again.code).toBe(1);
    expect(again.out).toMatch(/not-found/);

    const audit = (await auditCommands()).filter((e) => e.command === 'dlq replay');
    expect(audit.find((e) => e.targets.includes(depositId))).toMatchObject({
      operator: OPERATOR,
      dryRun: false,
      result: [expect.objectContaining({ outcome: 'replayed', depositId })],
    });
  });

  it('refuses to replay a letter whose deposit is already swept, and moves no money', async () => {
    const depositId = await sweptDeposit('13');
    const record = await stack.record(depositId);
    // A stale letter, e.g. from a sweep that was dead-lettered after its transfer had committed.
    await writeDeadLetter(stack.deadQueue, {
      kind: 'sweep-failed',
      depositId,
      reason: 'retries-exhausted: network: socket hang up',
      attempts: [],
      deadAt: new Date().toISOString(),
    });
    const replay = await ops('dlq', 'replay', `deposit-${depositId}`, '--json');
    expect(replay.code).toBe(1);
    expect(replay.json<{ outcomes: ReplayOutcome[] }>().outcomes[0]).toMatchObject({
      outcome: 'refused',
      message: `already swept, transfer ${record.transferId}`,
    });
    const text = await ops('dlq', 'replay', depositId);
    expect(text.out).toContain(`already swept, transfer ${record.transferId}`);
    expect(stack.transfersFor(depositId)).toHaveLength(1);
    expect((await stack.record(depositId)).state).toBe('swept');

    const enqueue = await ops('sweep', 'enqueue', depositId);
    expect(enqueue.code).toBe(1);
    expect(enqueue.err).toContain(`already swept, transfer ${record.transferId}`);

    const purge = await ops('dlq', 'purge', `deposit-${depositId}`, '--yes', '--json');
    expect(purge.code).toBe(0);
    expect(purge.json()).toEqual([
      { ref: `deposit-${depositId}`, outcome: 'purged', id: `deposit-${depositId}`, depositId },
    ]);
    expect(await stack.deadQueue.getJob(`deposit-${depositId}`)).toBeUndefined();
    expect((await auditCommands()).map((e) => e.command)).toEqual(
      expect.arrayContaining(['dlq purge', 'sweep enqueue']),
    );
  });

  it('replays an invalid notification: still invalid, the letter stays with the reason', async () => {
    const invalid = await stack.notifyInvalid();
    expect(invalid.status).toBe(200);
    const letters = (await ops('dlq', 'list', '--reason', 'invalid deposit', '--json')).json<DeadLetter[]>();
    const letter = letters.find((l) => l.depositId === invalid.depositId);
    expect(letter).toMatchObject({ kind: 'invalid-notification' });

    const dry = await unchanged(() => ops('dlq', 'replay', letter!.id, '--dry-run', '--json'));
    expect(dry.json<{ outcomes: ReplayOutcome[] }>().outcomes[0]).toMatchObject({ outcome: 'still-invalid' });

    const replay = await ops('dlq', 'replay', '--reason', 'invalid deposit', '--json');
    expect(replay.code).toBe(1);
    expect(replay.json<{ outcomes: ReplayOutcome[] }>().outcomes).toContainEqual(
      expect.objectContaining({ letterId: letter!.id, outcome: 'still-invalid' }),
    );
    expect((await stack.deadQueue.getJob(letter!.id))?.data.reason).toMatch(/invalid deposit notification/);
    expect(await stack.record(invalid.depositId)).toEqual({});
  });
});

describe('events replay', () => {
  it('re-feeds a notification whose record was deleted; the swept-ids record rebuilds it as swept, no second call', async () => {
    const since = Date.now() - 1;
    const depositId = await sweptDeposit('14');
    const until = Date.now();
    await stack.redis.del(
      stack.keys.deposit(depositId),
      stack.keys.depositNotifications(depositId),
      stack.keys.depositAttempts(depositId),
    );

    const dry = await unchanged(() =>
      ops('events', 'replay', '--since', String(since), '--until', String(until), '--dry-run', '--json'),
    );
    expect(dry.code).toBe(0);
    const predicted = dry.json<EventReplayReport>();
    expect(predicted.dryRun).toBe(true);
    expect(predicted.events.map((e) => e.result)).toContainEqual(
      expect.objectContaining({
        outcome: 'deposit',
        depositId,
        before: 'missing',
        state: 'swept',
        wouldSweep: false,
      }),
    );

    const run = await ops('events', 'replay', '--since', String(since), '--until', String(until));
    expect(run.code).toBe(0);
    expect(run.out).toContain(`deposit ${depositId}: missing → swept`);
    expect(run.out).toMatch(/notification\(s\) since/);
    expect(await stack.record(depositId)).toMatchObject({ state: 'swept', restoredAt: expect.any(String) });
    expect(stack.callsFor(depositId).calls).toBe(1);

    // A second replay changes nothing: the ledger already knows the deposit is swept.
    const again = await ops('events', 'replay', '--since', String(since), '--until', String(until), '--json');
    expect(again.json<EventReplayReport>().events.map((e) => e.result)).toContainEqual(
      expect.objectContaining({ depositId, before: 'swept', state: 'swept', sweep: 'none' }),
    );
    expect(stack.transfersFor(depositId)).toHaveLength(1);
    expect((await auditCommands()).filter((e) => e.command === 'events replay')).toHaveLength(2);
  });
});

describe('sweep control', () => {
  it('pauses and resumes the sweep queue, with status and audit', async () => {
    const paused = await ops('sweep', 'pause', '--json');
    expect(paused.code).toBe(0);
    expect(paused.json()).toMatchObject({ paused: true });
    expect(await stack.sweepQueue.isPaused()).toBe(true);
    const status = await ops('sweep', 'status');
    expect(status.out).toMatch(/sweep queue PAUSED/);
    const resumed = await ops('sweep', 'resume', '--json');
    expect(resumed.json()).toMatchObject({ paused: false });
    expect(await stack.sweepQueue.isPaused()).toBe(false);
    const commands = (await auditCommands()).map((e) => e.command);
    expect(commands).toEqual(expect.arrayContaining(['sweep pause', 'sweep resume']));
  });

  it('enqueues a deposit kept out of the sweep (dust) on an operator decision', async () => {
    const depositId = stack.deposit('0.5');
    await stack.notify(depositId);
    expect((await stack.record(depositId)).state).toBe('dust');
    const run = await ops('sweep', 'enqueue', depositId, '--json');
    expect(run.code).toBe(0);
    expect(run.json()).toMatchObject({ outcome: 'enqueued', previousState: 'dust', state: 'queued' });
    expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
    expect(stack.transfersFor(depositId)).toHaveLength(1);
    expect(await stack.record(depositId)).toMatchObject({ state: 'swept', replayedBy: OPERATOR });
  });

  it('previews an enqueue with --dry-run: the same answer and refusals, nothing written', async () => {
    const dust = stack.deposit('0.4');
    await stack.notify(dust);
    const auditBefore = (await auditCommands()).length;

    const preview = await ops('sweep', 'enqueue', dust, '--dry-run', '--json');
    expect(preview.code).toBe(0);
    expect(preview.json()).toMatchObject({
      outcome: 'would-enqueue',
      previousState: 'dust',
      state: 'queued',
    });
    expect((await stack.record(dust)).state).toBe('dust');
    expect(await stack.sweepQueue.getJob(`deposit-${dust}`)).toBeUndefined();

    const swept = await sweptDeposit('16');
    const refused = await ops('sweep', 'enqueue', swept, '--dry-run');
    expect(refused.code).not.toBe(0);
    expect(refused.err).toContain('already swept');

    await stack.redis.del(stack.keys.deposit(swept), stack.keys.depositNotifications(swept));
    const fromLog = await ops('sweep', 'enqueue', swept, '--dry-run', '--json');
    expect(fromLog.json()).toMatchObject({ outcome: 'would-feed-from-event-log', notificationsFed: 1 });
    expect(await stack.redis.exists(stack.keys.deposit(swept))).toBe(0);
    expect(await auditCommands()).toHaveLength(auditBefore);
  });

  it('rebuilds a swept deposit missing from the ledger by feeding its logged notification: no second call', async () => {
    const depositId = await sweptDeposit('15');
    await stack.redis.del(stack.keys.deposit(depositId), stack.keys.depositNotifications(depositId));
    const run = await ops('sweep', 'enqueue', depositId, '--json');
    expect(run.code).toBe(0);
    expect(run.json()).toMatchObject({ outcome: 'fed-from-event-log', state: 'swept', notificationsFed: 1 });
    expect((await stack.record(depositId)).state).toBe('swept');
    expect(stack.callsFor(depositId).calls).toBe(1);
    const entry = (await auditCommands()).find(
      (e) => e.command === 'sweep enqueue' && e.targets[0] === depositId,
    );
    expect(entry).toMatchObject({
      operator: OPERATOR,
      result: expect.objectContaining({ outcome: 'fed-from-event-log' }),
    });
  });
});

describe('help, version and suggestions', () => {
  it('prints the version, the help of a group and of a command, and exits 0', async () => {
    const version = await ops('--version');
    expect(version).toMatchObject({ code: 0, out: `${packageVersion()}\n`, err: '' });
    const group = await ops('deposits', '--help');
    expect(group.code).toBe(0);
    expect(group.out).toMatch(/Usage: interlace-sweep-ops deposits/);
    expect(group.out).toMatch(/show <ref>/);
    const command = await ops('dlq', 'replay', '--help');
    expect(command.code).toBe(0);
    expect(command.out).toMatch(/--limit <N>/);
    expect(command.out).toMatch(/--json/);
  });

  it('shows a group’s commands on stderr with exit 2 when its command is missing', async () => {
    const run = await ops('deposits');
    expect(run.code).toBe(2);
    expect(run.out).toBe('');
    expect(run.err).toMatch(/Usage: interlace-sweep-ops deposits/);
    expect(run.err).toMatch(/list \[options\]/);
  });
});

describe('short deposit ids', () => {
  it('accepts a unique prefix of a deposit id, as the demo and the tables print them', async () => {
    const depositId = await sweptDeposit('17');
    const shown = await ops('deposits', 'show', depositId.slice(0, 8), '--json');
    expect(shown.code).toBe(0);
    expect(shown.json<DepositDetails>().deposit.depositId).toBe(depositId);
    const dry = await ops('sweep', 'enqueue', depositId.slice(0, 8), '--dry-run');
    expect(dry.code).toBe(1);
    expect(dry.err).toContain(`deposit ${depositId}: already swept`);
  });

  it('refuses an ambiguous prefix with exit 2, naming the candidates', async () => {
    const ids = ['ambiguous-prefix-1', 'ambiguous-prefix-2'].map(
      (depositId) =>
        stack.sim.creditDeposit({ walletId: stack.wallet.id, currency: 'USDC', amount: '0.2', depositId }).id,
    );
    for (const id of ids) expect((await stack.notify(id)).status).toBe(200);
    const run = await ops('deposits', 'show', 'ambiguous-pre');
    expect(run.code).toBe(2);
    expect(run.err).toMatch(/"ambiguous-pre" matches 2 deposits: ambiguous-prefix-1, ambiguous-prefix-2/);
    expect(run.err.trim().split('\n')).toHaveLength(1);
  });
});

describe('the connection', () => {
  it('answers exit 1 for a QUEUE_PREFIX the service never used, and creates no key under it', async () => {
    const typo = `${stack.prefix}-typo`;
    const runs = [];
    for (const argv of [
      ['deposits', 'list'],
      ['dlq', 'list'],
      ['sweep', 'status'],
      ['sweep', 'pause'],
    ])
      runs.push(await cli({ ...env, QUEUE_PREFIX: typo }, ...argv));
    const created = await keysUnder(stack.redis, typo);
    await deleteKeysWithPrefix(stack.redis, typo);
    expect(created).toEqual([]);
    for (const run of runs) {
      expect(run.code).toBe(1);
      expect(run.err).toMatch(/no interlace-sweep data under QUEUE_PREFIX ".*-typo"/);
    }
  });

  it('runs every read-only command without writing a key', async () => {
    const depositId = await sweptDeposit('18');
    await unchanged(async () => {
      for (const argv of [
        ['deposits', 'list'],
        ['deposits', 'show', depositId],
        ['dlq', 'list'],
        ['sweep', 'status'],
        ['audit', 'list'],
        ['events', 'replay', '--since', '1h', '--dry-run'],
        ['sweep', 'enqueue', depositId, '--dry-run'],
      ])
        await ops(...argv);
    });
  });
});

describe('long replays', () => {
  it('stops events replay at --limit and says where to go on', async () => {
    await sweptDeposit('19');
    await sweptDeposit('20');
    const run = await ops('events', 'replay', '--since', '1h', '--limit', '1', '--dry-run', '--json');
    expect(run.code).toBe(0);
    const report = run.json<EventReplayReport>();
    expect(report.events).toHaveLength(1);
    expect(report.next).toMatch(/^\d+-\d+$/);
    const text = await ops('events', 'replay', '--since', '1h', '--limit', '1', '--dry-run');
    expect(text.out).toMatch(/stopped at --limit: the next is \d+-\d+; continue with --since \d+/);
  });

  it('replays at most --limit dead letters with --all', async () => {
    await deadDeposit('21');
    await deadDeposit('22');
    const run = await ops('dlq', 'replay', '--all', '--limit', '1', '--dry-run', '--json');
    expect(run.json<{ outcomes: ReplayOutcome[] }>().outcomes).toHaveLength(1);
  });

  it('draws a progress line on stderr only when stderr is a terminal', async () => {
    await sweptDeposit('23');
    const argv = ['events', 'replay', '--since', '1h', '--dry-run', '--json', '--operator', OPERATOR];
    const terminal = await cliOn({ env, tty: true }, ...argv);
    expect(terminal.code).toBe(0);
    const ERASE_LINE = '\r\x1b[K';
    expect(terminal.err.split(ERASE_LINE).some((part) => /^\d+ done…$/.test(part))).toBe(true);
    expect(terminal.err.endsWith(ERASE_LINE)).toBe(true);
    expect(() => terminal.json()).not.toThrow();
    const piped = await cliOn({ env, tty: false }, ...argv);
    expect(piped.err).toBe('');
  });
});

describe('the real process', () => {
  it('runs `deposits list --json` as a child process and exits', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'src/ops/main.ts', 'deposits', 'list', '--json', '--limit', '3'],
      { env: { ...process.env, ...stack.env } as NodeJS.ProcessEnv, timeout: 30_000 },
    );
    const deposits = JSON.parse(stdout) as { depositId: string }[];
    expect(deposits.length).toBeGreaterThan(0);
    expect(deposits.length).toBeLessThanOrEqual(3);
  });
});
