import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response, type NextFunction, type Router } from 'express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import type { Logger } from '../logger.js';
import type { Queues } from '../queues/create-queues.js';
import { DEAD_LETTER_QUEUE, SWEEP_QUEUE } from '../queues/names.js';
import { remoteAddress } from '../remote-address.js';
import { MERCHANT_EVENT_QUEUE } from '../merchant-events/merchant-event.js';
import { deadLetterView } from './dead-letter-view.js';

export const DASHBOARD_PATH = '/admin/queues';
const BOARD_TITLE = 'Interlace sweep';

export type DashboardOptions = {
  /** DASHBOARD_READ_ONLY: no retries, cleans, pauses or edits, in the UI nor through its API. */
  readOnly?: boolean;
  /** The environment badge (DASHBOARD_ENVIRONMENT, else NODE_ENV). */
  environmentLabel?: string;
  /** The alert queue (with ALERT_WEBHOOK_URL): alerts that could not be delivered show up failed here. */
  alertQueue?: Queue;
  /** The merchant events' delivery queue (with MERCHANT_WEBHOOK_URL): failed = dead-lettered events. */
  merchantEventQueue?: Queue;
  /** Where failed logins are reported (warn, with the remote address). */
  logger?: Logger;
  /** The operator CLI as it runs where the service is deployed (OPS_COMMAND_HINT). */
  opsCommand?: string;
};

/** Bull Board for the sweep and dead-letter queues (and alerts, when on), behind HTTP basic auth. */
export function bullBoardRouter(
  queues: Queues,
  credentials: { user: string; password: string },
  options: DashboardOptions = {},
): Router {
  const readOnlyMode = options.readOnly === true;
  const opsCommand = options.opsCommand ?? 'interlace-sweep-ops';
  const adapter = new ExpressAdapter();
  adapter.setBasePath(DASHBOARD_PATH);
  // A failed sweep job is always a dead deposit: Bull Board's Retry would rerun it with none of the
  // checks and no audit entry of `dlq replay`, so the sweep queue offers no Retry (refused below too).
  const sweep = new BullMQAdapter(queues.sweep, {
    readOnlyMode,
    allowRetries: false,
    description: `Failed = dead-lettered; recover with: ${opsCommand} dlq replay <depositId>`,
  });
  // Dead letters are decided on with the CLI (replay, purge: checked and audited); here they are read.
  const dead = new BullMQAdapter(queues.dead, {
    readOnlyMode: true,
    displayName: `${DEAD_LETTER_QUEUE} (dead letters)`,
    description: `"Waiting" = awaiting an operator's decision: ${opsCommand} dlq show|replay <id>`,
  });
  dead.setFormatter('data', (data: unknown) => deadLetterView(data, opsCommand));
  // A payout is moved by the CLI's checked, audited commands; its job's progress shows where the money is.
  const payout = new BullMQAdapter(queues.payout, {
    readOnlyMode,
    allowRetries: false,
    description: `Progress = the payout's state and where its money is; act with: ${opsCommand} payouts show|retry|refund <id>`,
  });
  createBullBoard({
    queues: [
      sweep,
      payout,
      dead,
      ...(options.alertQueue
        ? [
            new BullMQAdapter(options.alertQueue, {
              readOnlyMode,
              description: 'Alerts waiting for, or given up on, delivery to ALERT_WEBHOOK_URL',
            }),
          ]
        : []),
      ...(options.merchantEventQueue
        ? [
            new BullMQAdapter(options.merchantEventQueue, {
              readOnlyMode,
              // A replay goes through the CLI, which audits it.
              allowRetries: false,
              description: `Signed deposit events to MERCHANT_WEBHOOK_URL; failed = dead-lettered after every attempt: ${opsCommand} events merchant replay <eventId>`,
            }),
          ]
        : []),
    ],
    serverAdapter: adapter,
    options: {
      uiConfig: {
        boardTitle: BOARD_TITLE,
        ...(options.environmentLabel
          ? { environment: { label: options.environmentLabel, ...badgeColors(options.environmentLabel) } }
          : {}),
      },
    },
  });
  const router = express.Router();
  const guards = [
    basicAuth(credentials, options.logger),
    readOnlyMode ? refuseWrites : refuseUnauditedRecovery(opsCommand),
  ];
  router.use(DASHBOARD_PATH, ...guards, adapter.getRouter() as Router);
  return router;
}

/**
 * The recovery actions that belong to the CLI: retrying (or adding) a sweep job or a merchant event,
 * and any change to a dead letter. Refused on the server, since hiding a button is not a control.
 */
function refuseUnauditedRecovery(opsCommand: string) {
  const sweepWrite = new RegExp(`^/api/queues/${SWEEP_QUEUE}/(retry/[^/]+|add|[^/]+/retry)$`);
  const deadWrite = new RegExp(`^/api/queues/${DEAD_LETTER_QUEUE}/`);
  // A merchant event is replayed by the CLI, which audits who sent it again.
  const merchantWrite = new RegExp(`^/api/queues/${MERCHANT_EVENT_QUEUE}/(retry/[^/]+|add|[^/]+/retry)$`);
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD' && merchantWrite.test(req.path)) {
      res.status(403).json({
        error: 'use-the-cli',
        message: `merchant events are replayed with \`${opsCommand} events merchant replay <eventId>\` (audited)`,
      });
      return;
    }
    if (
      req.method === 'GET' ||
      req.method === 'HEAD' ||
      !(sweepWrite.test(req.path) || deadWrite.test(req.path))
    ) {
      next();
      return;
    }
    res.status(403).json({
      error: 'use-the-cli',
      message: `dead letters are replayed with \`${opsCommand} dlq replay <depositId>\` (same checks, audited)`,
    });
  };
}

/** Read-only mode, enforced on the server: the UI hiding its buttons is not a control. */
function refuseWrites(req: Request, res: Response, next: NextFunction): void {
  if (req.method === 'GET' || req.method === 'HEAD') {
    next();
    return;
  }
  res.status(403).json({ error: 'read-only', message: 'the dashboard is read-only (DASHBOARD_READ_ONLY)' });
}

function badgeColors(label: string): { color: string; textColor: string } {
  if (/^prod/i.test(label)) return { color: '#b91c1c', textColor: '#ffffff' };
  if (/^(stag|pre|uat)/i.test(label)) return { color: '#d97706', textColor: '#ffffff' };
  return { color: '#15803d', textColor: '#ffffff' };
}

function basicAuth(credentials: { user: string; password: string }, logger: Logger | undefined) {
  const expected = digest(`${credentials.user}:${credentials.password}`);
  return (req: Request, res: Response, next: NextFunction): void => {
    const header = req.headers.authorization ?? '';
    const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header);
    const given = match ? digest(Buffer.from(match[1]!, 'base64').toString('utf8')) : undefined;
    // Comparing fixed-length digests keeps the check constant-time whatever the input length.
    if (given && timingSafeEqual(given, expected)) {
      next();
      return;
    }
    // A browser's first request carries no credentials by design; only a wrong answer is worth a warning.
    if (header !== '')
      logger?.warn({ ...remoteAddress(req), path: req.originalUrl.split('?')[0] }, 'dashboard login failed');
    res.set('WWW-Authenticate', 'Basic realm="interlace-sweep", charset="UTF-8"');
    res.status(401).json({ error: 'unauthorized' });
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
