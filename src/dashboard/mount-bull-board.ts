import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response, type NextFunction, type Router } from 'express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queues } from '../queues/create-queues.js';

export const DASHBOARD_PATH = '/admin/queues';

/** Bull Board for the sweep and dead-letter queues, behind HTTP basic auth. */
export function bullBoardRouter(queues: Queues, credentials: { user: string; password: string }): Router {
  const adapter = new ExpressAdapter();
  adapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: [
      new BullMQAdapter(queues.sweep),
      new BullMQAdapter(queues.dead, { description: 'Dead letters: see reason in each job' }),
    ],
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'interlace-sweep' } },
  });
  const router = express.Router();
  router.use(DASHBOARD_PATH, basicAuth(credentials), adapter.getRouter() as Router);
  return router;
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
