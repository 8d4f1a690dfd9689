/** A plain-text table: a header row, then one row per item; columns padded to their widest cell. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** `key: value` lines for the fields that are set, in the given order. */
export function formatFields(record: Record<string, unknown>, order: readonly string[]): string {
  const keys = [
    ...order.filter((key) => key in record),
    ...Object.keys(record).filter((key) => !order.includes(key)),
  ];
  const width = Math.max(0, ...keys.map((key) => key.length));
  return keys
    .filter((key) => record[key] !== undefined && record[key] !== '')
    .map((key) => `${key.padEnd(width)}  ${String(record[key])}`)
    .join('\n');
}

/** An epoch-ms string (as the ledger stores times) as ISO, leaving anything else alone. */
export function isoTime(value: string | number | undefined): string {
  if (value === undefined) return '';
  const text = String(value);
  if (!/^\d{10,13}$/.test(text)) return text;
  return new Date(Number(text)).toISOString();
}

/** A record for a human: every time field (`…At`, `…Time`, `at`) held as epoch ms shown as ISO. */
export function withIsoTimes<T extends Record<string, unknown>>(record: T): T {
  const copy: Record<string, unknown> = { ...record };
  for (const [key, value] of Object.entries(copy)) {
    if ((/(At|Time)$/.test(key) || key === 'at') && (typeof value === 'string' || typeof value === 'number'))
      copy[key] = isoTime(value);
  }
  return copy as T;
}
