import { createHash } from 'node:crypto';

// A fixed, project-specific UUID namespace: changing it would change every clientTransactionId and
// let a replay of an old deposit move money a second time. Never change it.
const NAMESPACE = 'f3b2c1d0-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
const NAMESPACE_BYTES = Buffer.from(NAMESPACE.replaceAll('-', ''), 'hex');

/**
 * The sweep's clientTransactionId (and Idempotency-Key): a name-based UUID (RFC 9562 v5) of the deposit
 * id, so every retry, replay and duplicate of one deposit sends the same value.
 */
export function sweepTransactionId(depositId: string): string {
  return nameBasedUuid(`interlace-sweep:deposit:${depositId}`);
}

/** A name-based UUID (RFC 9562 v5) in the project's namespace: the same name always gives the same id. */
export function nameBasedUuid(name: string): string {
  const hash = createHash('sha1').update(NAMESPACE_BYTES).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
