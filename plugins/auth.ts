// Authentication at the door. `authSupport` (on the whole plugin) knows this server as an OAuth protected
// resource: its resource URL (the audience tokens must carry, RFC 8707), where its RFC 9728 metadata is,
// and how to answer 401/403 with RFC 6750 bodies and `WWW-Authenticate` challenges. `authGuard` (on the
// guarded routes only) is an onRequest hook, so it runs before a WebSocket upgrade, an SSE stream or a
// POST body: it verifies the Bearer JWT with @fastify/jwt, checks the audience and REQUIRED_SCOPES, and
// sets `request.principal`. Failures: 401 (+ error="invalid_token" when a token was sent), 403
// insufficient_scope, 503 when the JWKS cannot be fetched. With auth off every request is the anonymous
// principal, and only requests that reach the server on a loopback address are served unless
// ALLOW_INSECURE_NO_AUTH (the host app decides where it listens). Tool scopes go through the dispatcher.
import fp from 'fastify-plugin';
import fastifyJwt from '@fastify/jwt';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { isLoopbackHost } from '../src/config.js';
import { authSettings } from '../src/auth/auth-settings.js';
import { findBearerToken } from '../src/auth/bearer-token.js';
import { audienceMatches, missingScopes, principalFromClaims, type TokenClaims } from '../src/auth/claims.js';
import { createJwksKeyResolver, isNoMatchingKey, JWKS_ALGORITHMS } from '../src/auth/jwks.js';
import { protectedResourceMetadataUrl, resourceUrlFor } from '../src/auth/resource.js';
import { installToolScopeChecks, METRICS_SCOPE } from '../src/auth/tool-scopes.js';
import type { Principal } from '../src/sessions/principal.js';
import { hasStaticToken } from '../src/auth/static-token.js';
import { bearerChallenge, type BearerChallenge } from '../src/auth/www-authenticate.js';
import { Errors, RpcError } from '../src/errors.js';
import { ANONYMOUS } from '../src/sessions/principal.js';
import type { AuthFailureReason } from '../src/metrics/telemetry.js';
import { sendHttpError } from './json-rpc-errors.js';

export interface McpAuth {
  readonly mode: 'jwt' | 'none';
  /** Scopes every MCP request needs (REQUIRED_SCOPES). */
  readonly requiredScopes: readonly string[];
  /** This server's canonical resource URL (RESOURCE_URL, or http://HOST:PORT<prefix>/mcp once listening). */
  resourceUrl(): string;
  /** Where the RFC 9728 metadata is (the `resource_metadata` of every challenge); undefined with auth off. */
  resourceMetadataUrl(): string | undefined;
  /** A preHandler answering 403 insufficient_scope unless the principal has one of `scopes` (e.g. 'admin'). */
  requireAnyScope(scopes: string[], why?: string): preHandlerAsyncHookHandler;
  /** Answer 401/403 with an RFC 6750 body and a `WWW-Authenticate` challenge. */
  challenge(reply: FastifyReply, status: 401 | 403, c: Omit<BearerChallenge, 'resourceMetadataUrl'>): FastifyReply;
}

declare module 'fastify' {
  interface FastifyInstance {
    mcpAuth: McpAuth;
  }
  interface FastifyContextConfig {
    /** `Authorization: Bearer <token>` with this static token is let through on the route (METRICS_TOKEN). */
    staticToken?: Buffer;
  }
}

/** A principal for a static scrape token (METRICS_TOKEN). */
const METRICS_TOKEN_PRINCIPAL: Principal = Object.freeze({ subject: 'metrics-token', issuer: undefined, scopes: [METRICS_SCOPE] });



/** Where the hook leaves the token for @fastify/jwt's extractToken (header or subprotocol). */
const kToken = Symbol('realtime-mcp.token');
type TokenRequest = FastifyRequest & { [kToken]?: string; mcpJwtVerify(): Promise<TokenClaims> };

const HS_ALGORITHMS = ['HS256', 'HS384', 'HS512'];

const authSupportPlugin: FastifyPluginAsync = async (app) => {
  const config = app.mcpConfig;
  const settings = authSettings(config);
  const prefix = app.prefix;
  const tls = config.TLS_CERT_FILE !== '';

  let resourceUrlCache: string | undefined;
  const resourceUrl = (): string => {
    if (resourceUrlCache !== undefined) return resourceUrlCache;
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : undefined;
    const url = resourceUrlFor(config.RESOURCE_URL, config.HOST, port ?? config.PORT, prefix, tls);
    if (port !== undefined || config.RESOURCE_URL !== '') resourceUrlCache = url; // stable once listening
    return url;
  };
  const resourceMetadataUrl = () => (settings.mode === 'jwt' ? protectedResourceMetadataUrl(resourceUrl(), prefix) : undefined);

  const challenge = (reply: FastifyReply, status: 401 | 403, c: Omit<BearerChallenge, 'resourceMetadataUrl'>): FastifyReply => {
    const description = c.description ?? (status === 401 ? 'A Bearer token is required (Authorization: Bearer <token>)' : 'Forbidden');
    // RFC 6750 §3: the body names the error; `unauthorized` when no token was sent (no error code then).
    const body = { error: c.error ?? (status === 401 ? 'unauthorized' : 'forbidden'), error_description: description };
    reply.header('WWW-Authenticate', bearerChallenge({ ...c, description, resourceMetadataUrl: resourceMetadataUrl() }));
    return reply.code(status).type('application/json').send(body);
  };

  const requireAnyScope = (scopes: string[], why?: string): preHandlerAsyncHookHandler =>
    async function requireAnyScopeHook(request, reply) {
      if (request.principal?.scopes.some((s) => scopes.includes(s))) return;
      return challenge(reply, 403, { error: 'insufficient_scope', scopes, description: why ?? `missing scope: ${scopes.join(' or ')}` });
    };

  app.decorate('mcpAuth', { mode: settings.mode, requiredScopes: settings.requiredScopes, resourceUrl, resourceMetadataUrl, requireAnyScope, challenge });
  if (settings.mode === 'jwt') installToolScopeChecks(app.mcp.dispatcher, app.mcp.tools, { hideUnauthorized: settings.hideUnauthorizedTools });
};

const authGuardPlugin: FastifyPluginAsync = async (app) => {
  const config = app.mcpConfig;
  const settings = authSettings(config);
  const { challenge, resourceUrl } = app.mcpAuth;

  if (settings.mode === 'none') {
    const insecureOk = config.ALLOW_INSECURE_NO_AUTH;
    app.addHook('onRequest', (request, reply, done) => {
      // Auth is off: serve only what reaches us on a loopback address, unless the operator said otherwise.
      if (!insecureOk && !isLoopbackHost(request.socket.localAddress ?? '')) {
        sendHttpError(reply, new RpcError(Errors.FORBIDDEN_ORIGIN, 'Forbidden: authentication is off, so only loopback clients are served (configure auth, or allowInsecureNoAuth)'));
        return;
      }
      request.principal = ANONYMOUS;
      done();
    });
    return;
  }

  const jwks = settings.jwksUrl !== undefined ? createJwksKeyResolver(settings.jwksUrl) : undefined;
  await app.register(fastifyJwt, {
    // A JWKS key is picked by the token's header (kid, alg), hence `decode: { complete: true }`.
    secret: jwks ? (_request: FastifyRequest, token: { header: Parameters<typeof jwks>[0] }) => jwks(token.header) : settings.secret!,
    decode: { complete: true },
    verify: {
      extractToken: (request: FastifyRequest) => (request as TokenRequest)[kToken],
      algorithms: jwks ? JWKS_ALGORITHMS : HS_ALGORITHMS,
      clockTolerance: settings.clockToleranceMs,
      requiredClaims: settings.issuer !== undefined ? ['exp', 'sub', 'iss'] : ['exp', 'sub'],
      ...(settings.issuer !== undefined && { allowedIss: settings.issuer }),
    },
    // Own names, so an application that registers @fastify/jwt for itself keeps `request.jwtVerify`.
    namespace: 'mcp',
    jwtVerify: 'mcpJwtVerify',
    jwtDecode: 'mcpJwtDecode',
    jwtSign: 'mcpJwtSign',
    decoratorName: 'mcpTokenClaims',
  } as never);

  const failures = app.mcp.telemetry.authFailures;
  const unauthorized = (request: FastifyRequest, reply: FastifyReply, description: string | undefined, tokenSent: boolean, reason: AuthFailureReason) => {
    failures[reason]++;
    request.log.debug({ reason: description ?? 'no token', ip: request.ip }, 'authentication failed');
    return challenge(reply, 401, tokenSent ? { error: 'invalid_token', description } : {});
  };

  app.addHook('onRequest', async (request, reply) => {
    if (hasStaticToken(request.headers, request.routeOptions.config?.staticToken)) {
      request.principal = METRICS_TOKEN_PRINCIPAL;
      return;
    }
    const found = findBearerToken(request.headers);
    if (!found.ok) return unauthorized(request, reply, found.description, found.reason === 'malformed', found.reason === 'malformed' ? 'malformed' : 'no_token');
    (request as TokenRequest)[kToken] = found.token;

    let claims: TokenClaims;
    try {
      claims = await (request as TokenRequest).mcpJwtVerify();
    } catch (err) {
      if (isTokenRejection(err)) {
        const description = tokenErrorDescription(err);
        return unauthorized(request, reply, description, true, description === 'token expired' ? 'expired' : 'invalid_token');
      }
      failures.jwks_unavailable++;
      request.log.warn({ err: (err as Error).message }, 'cannot verify tokens: JWKS unavailable');
      return sendHttpError(reply, new RpcError(Errors.AUTH_UNAVAILABLE, 'Cannot verify tokens right now (the JWKS is unreachable); retry shortly', { retryAfterMs: 5_000 }));
    }
    const audience = settings.audience ?? resourceUrl();
    if (!audienceMatches(claims.aud, audience)) return unauthorized(request, reply, 'token audience is not this server', true, 'wrong_audience');
    const principal = principalFromClaims(claims);
    if (principal === undefined) return unauthorized(request, reply, 'token has no subject', true, 'invalid_token');
    request.principal = principal;

    const missing = missingScopes(principal, settings.requiredScopes);
    if (missing.length > 0) failures.insufficient_scope++;
    if (missing.length > 0) return challenge(reply, 403, { error: 'insufficient_scope', scopes: settings.requiredScopes, description: `missing scope: ${missing.join(' ')}` });
  });
};

/** The token itself is bad (→ 401), as opposed to the key source being unreachable (→ 503). */
function isTokenRejection(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && (code.startsWith('FST_JWT_') || code.startsWith('FAST_JWT_'))) return true;
  return isNoMatchingKey(err);
}

function tokenErrorDescription(err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code === 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED' || code === 'FAST_JWT_EXPIRED') return 'token expired';
  if (code === 'FAST_JWT_INACTIVE') return 'token not yet valid';
  if (isNoMatchingKey(err)) return 'no key for this token in the JWKS';
  const message = (err as Error).message ?? '';
  return message.replace(/^Authorization token is invalid: /, '').slice(0, 120) || 'invalid token';
}

export default fp(authSupportPlugin, { fastify: '5.x', name: 'realtime-mcp-auth-support' });
export const authGuard = fp(authGuardPlugin, { fastify: '5.x', name: 'realtime-mcp-auth-guard', dependencies: ['realtime-mcp-auth-support'] });
