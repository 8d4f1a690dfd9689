import type { OpsDeps } from './ops-context.js';

export type AuditEntry = {
  id: string;
  operator: string;
  at: string;
  command: string;
  targets: string[];
  result: unknown;
  dryRun: boolean;
};

/** Records a mutating command in the audit stream: who, when, what, on which targets, with what result. */
export async function appendAudit(
  deps: Pick<OpsDeps, 'redis' | 'keys' | 'operator' | 'now'>,
  entry: { command: string; targets: readonly string[]; result: unknown; dryRun?: boolean },
): Promise<string> {
  const id = await deps.redis.xadd(
    deps.keys.audit,
    '*',
    'operator',
    deps.operator,
    'at',
    new Date(deps.now()).toISOString(),
    'command',
    entry.command,
    'targets',
    JSON.stringify(entry.targets),
    'result',
    JSON.stringify(entry.result),
    'dryRun',
    String(entry.dryRun ?? false),
  );
  return id ?? '';
}

/** Audit entries, newest first. */
export async function listAudit(
  deps: Pick<OpsDeps, 'redis' | 'keys'>,
  input: { since?: number; limit: number },
): Promise<AuditEntry[]> {
  const min = input.since === undefined ? '-' : `${input.since}-0`;
  const entries = await deps.redis.xrevrange(deps.keys.audit, '+', min, 'COUNT', input.limit);
  return entries.map(([id, fields]) => {
    const map = toRecord(fields);
    return {
      id,
      operator: map.operator ?? '',
      at: map.at ?? '',
      command: map.command ?? '',
      targets: parseJson(map.targets, []) as string[],
      result: parseJson(map.result, null),
      dryRun: map.dryRun === 'true',
    };
  });
}

export function toRecord(fields: string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i]!] = fields[i + 1]!;
  return record;
}

function parseJson(text: string | undefined, fallback: unknown): unknown {
  if (text === undefined) return fallback;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
