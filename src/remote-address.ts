import type { IncomingMessage } from 'node:http';

/**
 * Where a request came from, for a warning about it: the peer, and a proxy's X-Forwarded-For when there
 * is one (as sent: unverified, so it is logged beside the peer, never instead of it).
 */
export function remoteAddress(req: IncomingMessage): { remoteAddress?: string; forwardedFor?: string } {
  const forwarded = req.headers['x-forwarded-for'];
  return {
    ...(req.socket.remoteAddress ? { remoteAddress: req.socket.remoteAddress } : {}),
    ...(typeof forwarded === 'string' ? { forwardedFor: forwarded.slice(0, 200) } : {}),
  };
}
