// Authentication at the door: an onRequest hook on every MCP route (so it runs before a WebSocket
// upgrade, an SSE stream or a POST body) verifies the Bearer JWT with @fastify/jwt, checks the audience
// (this server's resource URL, RFC 8707) and REQUIRED_SCOPES, and sets `request.principal`.
// Failures: 401 with `WWW-Authenticate: Bearer resource_metadata=…` (+ error="invalid_token" when a
// token was sent), 403 insufficient_scope, 503 when the JWKS cannot be fetched. With AUTH_MODE=none
// every request is the anonymous principal. Tool scopes are enforced through the dispatcher hooks.
import fp from 'fastify-plugin';
import fastifyJwt from '@fastify/jwt';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { isGuardedRequest } from '../src/auth/guarded-paths.js';
import { authSettings } from '../src/auth/auth-settings.js';
import { findBearerToken } from '../src/auth/bearer-token.js';
import { audienceMatches, missingScopes, principalFromClaims, type TokenClaims } from '../src/auth/claims.js';
import { createJwksKeyResolver, isNoMatchingKey, JWKS_ALGORITHMS } from '../src/auth/jwks.js';
import { protectedResourceMetadataUrl, resourceUrlFor } from '../src/auth/resource.js';
import { installToolScopeChecks } from '../src/auth/tool-scopes.js';
import { bearerChallenge, type BearerChallenge } from '../src/auth/www-authenticate.js';
import { ANONYMOUS } from '../src/sessions/principal.js';

export interface McpAuth {
  readonly mode: 'jwt' | 'none';
  /** This server's canonical resource URL (RESOURCE_URL, or http://HOST:PORT/mcp once listening). */
  resourceUrl(): string;
  /** Where the RFC 9728 metadata is (the `resource_metadata` of every challenge). */
  resourceMetadataUrl(): string;
  /** A preHandler answering 403 insufficient_scope unless the principal has every scope (e.g. 'admin'). */
  requireScopes(...scopes: string[]): preHandlerAsyncHookHandler;
}

declare module 'fastify' {
  interface FastifyInstance {
    mcpAuth: McpAuth;
  }
}

/** Where the hook leaves the token for @fastify/jwt's extractToken (header or subprotocol). */
const kToken = Symbol('realtime-mcp.token');
type TokenRequest = FastifyRequest & { [kToken]?: string; mcpJwtVerify(): Promise<TokenClaims> };

const HS_ALGORITHMS = ['HS256', 'HS384', 'HS512'];

const authPlugin: FastifyPluginAsync = async (app) => {
  const config = app.mcpConfig;
  const settings = authSettings(config); // throws ConfigError for unsafe combinations

  let resourceUrlCache: string | undefined;
  const resourceUrl = (): string => {
    if (resourceUrlCache !== undefined) return resourceUrlCache;
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : undefined;
    const url = resourceUrlFor(config.RESOURCE_URL, config.HOST, port ?? config.PORT);
    if (port !== undefined || config.RESOURCE_URL !== '') resourceUrlCache = url; // stable once listening
    return url;
  };
  const resourceMetadataUrl = () => protectedResourceMetadataUrl(resourceUrl());

  const challenge = (reply: FastifyReply, status: 401 | 403, c: Omit<BearerChallenge, 'resourceMetadataUrl'>, body: object) =>
    reply.code(status).header('WWW-Authenticate', bearerChallenge({ ...c, resourceMetadataUrl: resourceMetadataUrl() })).send(body);

  const requireScopes = (...scopes: string[]): preHandlerAsyncHookHandler =>
    async function requireScopesHook(request, reply) {
      if (settings.mode === 'none') return;
      const missing = missingScopes(request.principal, scopes);
      if (missing.length === 0) return;
      return challenge(reply, 403, { error: 'insufficient_scope', scopes, description: `missing scope: ${missing.join(' ')}` }, {
        error: 'insufficient_scope',
        error_description: `Missing scope: ${missing.join(' ')}`,
      });
    };

  app.decorate('mcpAuth', { mode: settings.mode, resourceUrl, resourceMetadataUrl, requireScopes });

  if (settings.mode === 'none') {
    app.addHook('onRequest', async (request) => {
      if (isGuardedRequest(request.routeOptions.url, request.url)) request.principal = ANONYMOUS;
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

  installToolScopeChecks(app.mcp.dispatcher, app.mcp.tools, { hideUnauthorized: settings.hideUnauthorizedTools });

  const unauthorized = (request: FastifyRequest, reply: FastifyReply, description: string | undefined, tokenSent: boolean) => {
    request.log.debug({ reason: description ?? 'no token', ip: request.ip }, 'authentication failed');
    return challenge(reply, 401, tokenSent ? { error: 'invalid_token', description } : {}, {
      error: tokenSent ? 'invalid_token' : 'unauthorized',
      error_description: description ?? 'A Bearer token is required (Authorization: Bearer <token>)',
    });
  };

  app.addHook('onRequest', async (request, reply) => {
    if (!isGuardedRequest(request.routeOptions.url, request.url)) return;
    const found = findBearerToken(request.headers);
    if (!found.ok) return unauthorized(request, reply, found.description, found.reason === 'malformed');
    (request as TokenRequest)[kToken] = found.token;

    let claims: TokenClaims;
    try {
      claims = await (request as TokenRequest).mcpJwtVerify();
    } catch (err) {
      if (isTokenRejection(err)) return unauthorized(request, reply, tokenErrorDescription(err), true);
      request.log.warn({ err: (err as Error).message }, 'cannot verify tokens: JWKS unavailable');
      return reply.code(503).header('Retry-After', '5').send({ error: 'temporarily_unavailable', error_description: 'Cannot verify tokens right now' });
    }
    const audience = settings.audience ?? resourceUrl();
    if (!audienceMatches(claims.aud, audience)) return unauthorized(request, reply, 'token audience is not this server', true);
    const principal = principalFromClaims(claims);
    if (principal === undefined) return unauthorized(request, reply, 'token has no subject', true);
    request.principal = principal;

    const missing = missingScopes(principal, settings.requiredScopes);
    if (missing.length > 0) {
      return challenge(reply, 403, { error: 'insufficient_scope', scopes: settings.requiredScopes, description: `missing scope: ${missing.join(' ')}` }, {
        error: 'insufficient_scope',
        error_description: `Missing scope: ${missing.join(' ')}`,
      });
    }
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

export default fp(authPlugin, { fastify: '5.x', name: 'realtime-mcp-auth', dependencies: ['realtime-mcp-core', 'realtime-mcp-principal'] });
