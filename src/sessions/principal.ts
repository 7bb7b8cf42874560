// Who is on the other end of a session, as established by authentication at the HTTP layer.

export interface Principal {
  /** Token subject (`sub`); `anonymous` when auth is off. */
  subject: string;
  /** Token issuer (`iss`), when there is one. */
  issuer?: string;
  /** Scopes granted by the token. */
  scopes: readonly string[];
}

export const ANONYMOUS: Principal = Object.freeze({ subject: 'anonymous', scopes: Object.freeze([]) as readonly string[] });

/** Two principals are the same caller when subject and issuer both match. */
export function samePrincipal(a: Principal | undefined, b: Principal | undefined): boolean {
  return (a?.subject ?? '') === (b?.subject ?? '') && (a?.issuer ?? '') === (b?.issuer ?? '');
}

/** One string per caller (issuer and subject), for maps keyed by who is calling. */
export function principalKey(principal: Principal | undefined): string {
  return `${principal?.issuer ?? ''}\n${principal?.subject ?? ''}`;
}
