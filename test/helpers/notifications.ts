import { randomUUID } from 'node:crypto';
import { signResource } from '../../src/interlace/webhook-signature.js';

export const DEPOSIT_EVENT = 'CRYPTO_CONNECT_TRANSFER.UPDATED';

export type TestDeposit = {
  id: string;
  accountId: string;
  walletId: string;
  currency: string;
  amount: string | number;
  status: string;
  direction?: string;
  chain?: string;
  txHash?: string;
};

/** A deposit resource like Interlace's (API-NOTES §6), with fresh ids unless given. */
export function depositResource(patch: Partial<TestDeposit> = {}): TestDeposit {
  return {
    id: `dep-${randomUUID()}`,
    accountId: 'acc-test',
    walletId: 'wallet-test',
    currency: 'USDC',
    amount: '10',
    status: 'CLOSED',
    direction: 'IN',
    chain: 'ETH',
    txHash: `0x${randomUUID().replaceAll('-', '')}`,
    ...patch,
  };
}

/** A signed v3 notification: body string and headers, as Interlace would POST it. */
export function signedNotification(
  resource: unknown,
  options: { secret: string; eventType?: string; id?: string; signWith?: string } = { secret: '' },
): { body: string; headers: Record<string, string>; id: string; resource: string } {
  const resourceString = typeof resource === 'string' ? resource : JSON.stringify(resource);
  const id = options.id ?? randomUUID();
  const body = JSON.stringify({
    eventType: options.eventType ?? DEPOSIT_EVENT,
    apiVersion: 'v3',
    code: '000000',
    message: '',
    resource: resourceString,
    createTime: String(Date.now()),
    id,
  });
  return {
    body,
    id,
    resource: resourceString,
    headers: {
      'content-type': 'application/json',
      'signature-method': 'HMAC-SHA256',
      signature: signResource(resourceString, options.signWith ?? options.secret),
      timestamp: String(Date.now()),
    },
  };
}

/** POSTs a body to the receiver and returns status and parsed JSON. */
export async function post(url: string, body: string | Buffer, headers: Record<string, string>) {
  const response = await fetch(url, { method: 'POST', body, headers });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, body: json as Record<string, unknown> };
}
