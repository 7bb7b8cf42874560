// Development convenience for `npm start` with no auth configured (loopback only): a random HS256
// secret for this process and a ready token signed with it.
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';

export function generateDevSecret(): string {
  return randomBytes(32).toString('base64url');
}

export interface DevTokenOptions {
  secret: string;
  audience: string;
  issuer?: string;
  subject?: string;
  scopes: readonly string[];
  /** Lifetime in seconds (default 24 h). */
  ttlSeconds?: number;
}

export function mintDevToken(o: DevTokenOptions): Promise<string> {
  const jwt = new SignJWT({ scope: o.scopes.join(' ') })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(o.subject ?? 'dev')
    .setAudience(o.audience)
    .setIssuedAt()
    .setExpirationTime(`${o.ttlSeconds ?? 86_400}s`);
  if (o.issuer) jwt.setIssuer(o.issuer);
  return jwt.sign(new TextEncoder().encode(o.secret));
}
