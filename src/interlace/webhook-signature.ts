import { createHmac, timingSafeEqual } from 'node:crypto';

/** base64(HMAC-SHA256(key = secret, message = the `resource` string exactly as received)): API-NOTES §5. */
export function signResource(resource: string, secret: string): string {
  return createHmac('sha256', secret).update(resource, 'utf8').digest('base64');
}

/** Constant-time check of a `Signature` header against the resource; any malformed input is simply false. */
export function verifyResourceSignature(
  resource: string,
  signature: string | undefined,
  secret: string,
): boolean {
  if (typeof signature !== 'string' || signature.length === 0 || signature.length > 128) return false;
  const given = Buffer.from(signature.trim(), 'base64');
  const expected = createHmac('sha256', secret).update(resource, 'utf8').digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}
