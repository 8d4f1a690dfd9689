/**
 * One row of a money flow's state machine: in state `from`, `event` leads to state `to`, and the store
 * carries out `action`. `why` is the business rule in one line (it ends up in the docs).
 */
export type Transition<S extends string, E extends string, A extends string> = Readonly<{
  from: S;
  event: E;
  to: S;
  action: A;
  why: string;
}>;

/** A flow's whole state machine as data: every (state, event) pair has exactly one row. */
export type TransitionTable<S extends string, E extends string, A extends string> = Readonly<{
  name: string;
  states: readonly S[];
  events: readonly E[];
  rows: readonly Transition<S, E, A>[];
}>;

/**
 * Checks that a table is complete and unambiguous (exactly one row per state and event, only known
 * states) and freezes it. A flow's table is built once, at import, from literal data.
 */
export function defineTransitionTable<S extends string, E extends string, A extends string>(
  table: TransitionTable<S, E, A>,
): TransitionTable<S, E, A> {
  const seen = new Set<string>();
  for (const row of table.rows) {
    const pair = `${row.from} × ${row.event}`;
    if (seen.has(pair)) throw new Error(`${table.name}: two rows for ${pair}`);
    if (!table.states.includes(row.to)) throw new Error(`${table.name}: ${pair} leads to unknown ${row.to}`);
    seen.add(pair);
  }
  for (const from of table.states) {
    for (const event of table.events) {
      if (!seen.has(`${from} × ${event}`)) throw new Error(`${table.name}: no row for ${from} × ${event}`);
    }
  }
  return Object.freeze({ ...table, rows: Object.freeze(table.rows.map((row) => Object.freeze({ ...row }))) });
}

/** The row for a state and an event (every pair has one: the table is complete). */
export function transition<S extends string, E extends string, A extends string>(
  table: TransitionTable<S, E, A>,
  from: S,
  event: E,
): Transition<S, E, A> {
  const row = table.rows.find((candidate) => candidate.from === from && candidate.event === event);
  if (row === undefined) throw new Error(`${table.name}: no row for ${from} × ${event}`);
  return row;
}

const encoded = new WeakMap<object, Map<string, string>>();

/**
 * The rows of one event as a compact string for a Lua script that must decide atomically on a state it
 * reads itself: `from=to/action,...`. The script looks its state up in it and does the action; the rules
 * stay here, in one place. Memoised: the same event always encodes to the same string.
 */
export function encodeEvent<S extends string, E extends string, A extends string>(
  table: TransitionTable<S, E, A>,
  event: E,
): string {
  let byEvent = encoded.get(table);
  if (byEvent === undefined) encoded.set(table, (byEvent = new Map()));
  let value = byEvent.get(event);
  if (value === undefined) {
    value = table.rows
      .filter((row) => row.event === event)
      .map((row) => `${row.from}=${row.to}/${row.action}`)
      .join(',');
    byEvent.set(event, value);
  }
  return value;
}

/** The table as Markdown: one section per event, a row per state (what docs/ shows). */
export function renderTransitionTable<S extends string, E extends string, A extends string>(
  table: TransitionTable<S, E, A>,
  describeEvent: (event: E) => string,
): string {
  const lines: string[] = [];
  for (const event of table.events) {
    lines.push(`### \`${event}\``, '', describeEvent(event), '');
    lines.push('| from | to | action | why |', '| --- | --- | --- | --- |');
    for (const row of table.rows.filter((candidate) => candidate.event === event)) {
      const to = row.to === row.from ? `(${row.to})` : `**${row.to}**`;
      lines.push(`| ${row.from} | ${to} | ${row.action} | ${row.why.replaceAll('|', '\\|')} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
