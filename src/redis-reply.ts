/** A flat field/value reply (HGETALL-like, a stream entry, an XINFO section) as a record. */
export function replyRecord(fields: readonly unknown[]): Record<string, string | undefined> {
  const record: Record<string, string | undefined> = {};
  for (let index = 0; index + 1 < fields.length; index += 2)
    record[String(fields[index])] = fields[index + 1] as string | undefined;
  return record;
}

/** Orders two stream ids (`<ms>-<seq>`) as Redis does. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am !== bm ? am - bm : as - bs;
}
