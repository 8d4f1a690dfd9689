import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response, type NextFunction, type Router } from 'express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import type { Queues } from '../queues/create-queues.js';

export const DASHBOARD_PATH = '/admin/queues';

export type DashboardOptions = {
  /** DASHBOARD_READ_ONLY: no retries, cleans, pauses or edits, in the UI nor through its API. */
  readOnly?: boolean;
  /** The environment badge (DASHBOARD_ENVIRONMENT, else NODE_ENV). */
  environmentLabel?: string;
  /** The alert queue (with ALERT_WEBHOOK_URL): alerts that could not be delivered show up failed here. */
  alertQueue?: Queue;
};

/** Bull Board for the sweep and dead-letter queues (and alerts, when on), behind HTTP basic auth. */
export function bullBoardRouter(
  queues: Queues,
  credentials: { user: string; password: string },
  options: DashboardOptions = {},
): Router {
  const readOnlyMode = options.readOnly === true;
  const adapter = new ExpressAdapter();
  adapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: [
      new BullMQAdapter(queues.sweep, { readOnlyMode }),
      new BullMQAdapter(queues.dead, {
        readOnlyMode,
        description: "Dead letters: the reason (and last error, attempt history) is in each job's data",
      }),
      ...(options.alertQueue
        ? [
            new BullMQAdapter(options.alertQueue, {
              readOnlyMode,
              description: 'Alerts waiting for, or given up on, delivery to ALERT_WEBHOOK_URL',
            }),
          ]
        : []),
    ],
    serverAdapter: adapter,
    options: {
      uiConfig: {
        boardTitle: options.environmentLabel
          ? `interlace-sweep (${options.environmentLabel})`
          : 'interlace-sweep',
        ...(options.environmentLabel
          ? { environment: { label: options.environmentLabel, ...badgeColors(options.environmentLabel) } }
          : {}),
      },
    },
  });
  const router = express.Router();
  const guards = [basicAuth(credentials), ...(readOnlyMode ? [refuseWrites] : [])];
  router.use(DASHBOARD_PATH, ...guards, adapter.getRouter() as Router);
  return router;
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

function basicAuth(credentials: { user: string; password: string }) {
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
    res.set('WWW-Authenticate', 'Basic realm="interlace-sweep", charset="UTF-8"');
    res.status(401).json({ error: 'unauthorized' });
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
