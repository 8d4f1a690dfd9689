import type { DeadLetterData } from '../queues/names.js';
import { isoTime, withIsoTimes } from '../ops/format-table.js';

/** The longest string the dashboard shows from an invalid notification's body; the CLI shows all of it. */
export const PREVIEW_CHARS = 40;

/**
 * A dead letter as the dashboard shows it: what an operator decides on first (reason, deposit, amount,
 * when, the command that recovers it), then the history, with ISO times and the raw notification body
 * cut short so one bad payload cannot stretch the page.
 */
export function deadLetterView(raw: unknown, opsCommand: string): Record<string, unknown> {
  if (!isDeadLetter(raw)) return (raw ?? {}) as Record<string, unknown>;
  const { reason, depositId, deposit, deadAt, kind, lastError, attempts, notification, ...rest } = raw;
  const money = amountOf(raw);
  return {
    reason,
    deposit: depositId ?? '(not identified)',
    amount: money ?? '(unknown)',
    deadAt: isoTime(deadAt),
    recover: `${opsCommand} dlq show|replay ${depositId ?? '<this job id>'}`,
    kind,
    ...(lastError === undefined ? {} : { lastError }),
    attempts: attempts.map((attempt) => withIsoTimes(attempt)),
    ...(deposit === undefined ? {} : { depositRecord: withIsoTimes(deposit) }),
    ...(notification === undefined ? {} : notificationView(notification, opsCommand)),
    ...rest,
  };
}

function isDeadLetter(data: unknown): data is DeadLetterData {
  const candidate = data as Partial<DeadLetterData> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.reason === 'string' &&
    Array.isArray(candidate.attempts)
  );
}

/** The amount from the deposit snapshot, else from the notification's resource when it parses. */
function amountOf(letter: DeadLetterData): string | undefined {
  const fromDeposit = letter.deposit?.amount;
  if (fromDeposit !== undefined) return `${fromDeposit} ${letter.deposit?.currency ?? ''}`.trim();
  try {
    const envelope = JSON.parse(letter.notification?.body ?? '') as { resource?: unknown };
    const resource = JSON.parse(String(envelope.resource)) as { amount?: unknown; currency?: unknown };
    if (typeof resource.amount === 'string')
      return `${resource.amount} ${typeof resource.currency === 'string' ? resource.currency : ''}`.trim();
  } catch {
    // An unparsable body is why some letters exist: no amount to show then.
  }
  return undefined;
}

/**
 * The notification, readable: its resource parsed, every long string cut (a body is one unbroken line
 * of JSON that would widen the page), and where to read all of it. Kept two levels deep at most: the
 * dashboard folds deeper objects away.
 */
function notificationView(
  notification: NonNullable<DeadLetterData['notification']>,
  opsCommand: string,
): Record<string, unknown> {
  const { body, ...ids } = notification;
  const summary = {
    ...ids,
    body: `${body.length} characters, in full: ${opsCommand} dlq show <this job id>`,
  };
  try {
    const envelope = JSON.parse(body) as { resource?: unknown };
    const resource = JSON.parse(String(envelope.resource)) as unknown;
    if (typeof resource === 'object' && resource !== null)
      return { notification: summary, resource: shorten(resource) };
  } catch {
    // Not JSON all the way down: the start of the raw body instead.
  }
  return { notification: { ...summary, start: cut(body) } };
}

function shorten(value: unknown): unknown {
  if (typeof value === 'string') return cut(value);
  if (Array.isArray(value)) return value.slice(0, 10).map(shorten);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, shorten(inner)]));
  return value;
}

function cut(text: string): string {
  return text.length <= PREVIEW_CHARS
    ? text
    : `${text.slice(0, PREVIEW_CHARS)}… (+${text.length - PREVIEW_CHARS})`;
}
