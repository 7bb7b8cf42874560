// A static bearer token for one route (METRICS_TOKEN on GET /metrics), compared in constant time.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** The `Authorization` value that carries `token`, as bytes (what `hasStaticToken` compares with). */
export function staticTokenHeader(token: string): Buffer | undefined {
  return token === '' ? undefined : Buffer.from(`Bearer ${token}`);
}

/** True when the request carries the static token (`Authorization: Bearer <token>`). */
export function hasStaticToken(headers: IncomingHttpHeaders, expected: Buffer | undefined): boolean {
  const given = headers.authorization;
  if (expected === undefined || given === undefined) return false;
  const bytes = Buffer.from(given);
  return bytes.length === expected.length && timingSafeEqual(bytes, expected);
}
