// A verified token's claims → the Principal a session is bound to, and scope arithmetic.
import type { Principal } from '../sessions/principal.js';

export interface TokenClaims {
  sub?: unknown;
  iss?: unknown;
  aud?: unknown;
  scope?: unknown;
  scp?: unknown;
  [claim: string]: unknown;
}

/** `scope` (RFC 8693/9068: space-separated string) or `scp` (Azure AD, Okta: array or string). */
export function scopesOf(claims: TokenClaims): string[] {
  const out = new Set<string>();
  for (const value of [claims.scope, claims.scp]) {
    if (typeof value === 'string') for (const s of value.split(/\s+/)) if (s) out.add(s);
    if (Array.isArray(value)) for (const s of value) if (typeof s === 'string' && s) out.add(s);
  }
  return [...out];
}

/** The principal for these claims, or undefined when there is no usable subject. */
export function principalFromClaims(claims: TokenClaims): Principal | undefined {
  if (typeof claims.sub !== 'string' || claims.sub === '') return undefined;
  const principal: Principal = { subject: claims.sub, scopes: Object.freeze(scopesOf(claims)) };
  if (typeof claims.iss === 'string' && claims.iss !== '') principal.issuer = claims.iss;
  return Object.freeze(principal);
}

/** True when the token's `aud` (string or array) names `audience`. One trailing slash is ignored. */
export function audienceMatches(aud: unknown, audience: string): boolean {
  const want = stripSlash(audience);
  if (typeof aud === 'string') return stripSlash(aud) === want;
  return Array.isArray(aud) && aud.some((a) => typeof a === 'string' && stripSlash(a) === want);
}

/** The scopes of `required` that `principal` lacks (empty when it has them all). */
export function missingScopes(principal: Principal | undefined, required: readonly string[] | undefined): string[] {
  if (required === undefined || required.length === 0) return [];
  const granted = principal?.scopes ?? [];
  return required.filter((s) => !granted.includes(s));
}

function stripSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}
