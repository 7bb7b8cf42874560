// Real tokens for auth tests: HS256 with a shared secret, RS256 with a locally generated key whose
// JWKS is served by a small loopback HTTP server, and hand-built malformed ones (alg none, bad
// signature). Signed with jose, independently of the server's verifier (@fastify/jwt / fast-jwt).
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type JWTPayload, type CryptoKey } from 'jose';

export const TEST_ISSUER = 'https://issuer.test';

export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

export interface TokenOptions {
  /** Claims; `sub` defaults to "alice". Pass `sub: undefined` to leave it out. */
  claims?: JWTPayload & { scope?: string; scp?: string[] };
  audience?: string;
  issuer?: string;
  /** Seconds from now; negative = already expired. undefined = 1 h. null = no exp claim. */
  expiresIn?: number | null;
  /** Seconds from now for nbf. */
  notBefore?: number;
  kid?: string;
}

function build(o: TokenOptions, alg: string): SignJWT {
  const claims: JWTPayload = { sub: 'alice', ...o.claims };
  if ('sub' in (o.claims ?? {}) && o.claims!.sub === undefined) delete claims.sub;
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT', ...(o.kid && { kid: o.kid }) }).setIssuedAt(now);
  if (o.audience) jwt.setAudience(o.audience);
  if (o.issuer) jwt.setIssuer(o.issuer);
  if (o.expiresIn !== null) jwt.setExpirationTime(now + (o.expiresIn ?? 3600));
  if (o.notBefore !== undefined) jwt.setNotBefore(now + o.notBefore);
  return jwt;
}

export function hsToken(secret: string, o: TokenOptions = {}): Promise<string> {
  return build(o, 'HS256').sign(new TextEncoder().encode(secret));
}

export function rsToken(privateKey: CryptoKey, o: TokenOptions = {}): Promise<string> {
  return build(o, 'RS256').sign(privateKey);
}

/** A token with `alg: none` and no signature (must always be refused). */
export function unsignedToken(claims: Record<string, unknown>): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
}

/** Flip a character of the signature. */
export function tamper(token: string): string {
  const last = token.at(-2) === 'A' ? 'B' : 'A';
  return token.slice(0, -2) + last + token.slice(-1);
}

export interface RsaKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: Record<string, unknown>;
}

export async function rsaKey(kid: string): Promise<RsaKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, publicJwk };
}

export interface JwksServer {
  url: string;
  /** How many times the JWKS was fetched. */
  hits(): number;
  close(): Promise<void>;
}

/** Serve `{ keys }` at http://127.0.0.1:<port>/jwks.json. */
export async function startJwksServer(keys: Array<Record<string, unknown>>): Promise<JwksServer> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    if (req.url !== '/jwks.json') return void res.writeHead(404).end();
    hits++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    hits: () => hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The Authorization header for a token. */
export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
