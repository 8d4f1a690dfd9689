import { usageError } from './ops-error.js';

const UNIT_MS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/**
 * Reads an operator's time: an ISO date, milliseconds since the epoch, or a duration ago (`30m`, `24h`,
 * `7d`). Answers epoch milliseconds; anything else is a usage error naming the flag.
 */
export function parseTime(value: string, flag: string, now = Date.now()): number {
  const trimmed = value.trim();
  const relative = /^(\d+)([smhdw])$/.exec(trimmed);
  if (relative) return now - Number(relative[1]) * UNIT_MS[relative[2]!]!;
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  // Date.parse accepts many loose forms; requiring a leading YYYY-MM-DD keeps typos from becoming dates.
  if (/^\d{4}-\d{2}-\d{2}/.test(trimmed)) {
    const parsed = Date.parse(trimmed);
    if (Number.isFinite(parsed)) return parsed;
  }
  throw usageError(
    `${flag}: "${value}" is not a time (use an ISO date, ms since epoch, or a duration like 24h or 7d)`,
  );
}

/** A positive integer flag such as --limit. */
export function parseCount(value: string, flag: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw usageError(`${flag}: "${value}" is not a positive integer`);
  return Number(value);
}
