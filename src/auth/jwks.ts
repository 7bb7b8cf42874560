// Public keys from the authorization server's JWKS, for @fastify/jwt (which verifies with fast-jwt and
// wants PEM). Fetching and caching is jose's createRemoteJWKSet: keys are cached (10 min), concurrent
// lookups share one fetch, a token with an unknown `kid` triggers a refetch (key rotation) but at most
// once per 30 s cooldown, so a flood of made-up key ids cannot turn into a flood of JWKS requests.
import { KeyObject } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, type JWSHeaderParameters } from 'jose';

/** Algorithms accepted from a JWKS: asymmetric only (an HMAC "key" from a public JWKS is no secret). */
export const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export type PublicKeyResolver = (header: JWSHeaderParameters) => Promise<string>;

export function createJwksKeyResolver(url: string): PublicKeyResolver {
  const jwks = createRemoteJWKSet(new URL(url), { timeoutDuration: 5000, cooldownDuration: 30_000, cacheMaxAge: 600_000 });
  const pems = new WeakMap<object, string>();
  return async (header) => {
    const key = await jwks(header);
    let pem = pems.get(key);
    if (pem === undefined) {
      pem = KeyObject.from(key as CryptoKey).export({ type: 'spki', format: 'pem' }) as string;
      pems.set(key, pem);
    }
    return pem;
  };
}

/** True when the JWKS was reachable but has no key for this token (→ 401, not 503). */
export function isNoMatchingKey(err: unknown): boolean {
  return err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys || err instanceof joseErrors.JOSENotSupported;
}
