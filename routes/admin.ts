// Operator routes under /admin (opt-in for embedders: `admin: true`; on in the standalone server). They
// need a token with the `admin` scope; with no authentication they answer 403 unless
// ADMIN_ROUTES_WITHOUT_AUTH=true and the caller is on this machine.
//
// POST /admin/notify { message, level? } sends `notifications/message` to every session on every
// transport (e.g. "Server will restart in 5 minutes") and answers { delivered: N }.
import fp from 'fastify-plugin';
import Type from 'typebox';
import { Compile } from 'typebox/compile';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import { isLoopbackHost } from '../src/config.js';
import { LOG_LEVELS } from '../src/sessions/session.js';
import { ADMIN_SCOPE } from '../src/auth/tool-scopes.js';
import { Errors, RpcError } from '../src/errors.js';

const MAX_MESSAGE_CHARS = 10_000;

const NotifyBody = Compile(Type.Object({
  message: Type.String({ minLength: 1, maxLength: MAX_MESSAGE_CHARS }),
  level: Type.Optional(Type.Union(LOG_LEVELS.map((l) => Type.Literal(l)))),
}, { additionalProperties: false }));

const adminRoutes: FastifyPluginAsync = async (app) => {
  const config = app.mcpConfig;
  const authOff = app.mcpAuth.mode === 'none';

  async function requireAdmin(request: FastifyRequest, reply: FastifyReply) {
    if (request.principal?.scopes.includes(ADMIN_SCOPE)) return;
    // Both the socket and the client address (X-Forwarded-For from a trusted proxy) must be loopback,
    // so a reverse proxy on this machine does not make remote callers look local.
    if (authOff && config.ADMIN_ROUTES_WITHOUT_AUTH && isLoopbackHost(request.socket.remoteAddress ?? '') && isLoopbackHost(request.ip)) return;
    const description = authOff
      ? 'admin routes need the admin scope; without authentication set ADMIN_ROUTES_WITHOUT_AUTH=true and call from this machine'
      : 'missing scope: admin';
    return app.mcpAuth.challenge(reply, 403, { error: 'insufficient_scope', scopes: [ADMIN_SCOPE], description });
  }

  app.post('/admin/notify', { preHandler: requireAdmin }, async (request, reply) => {
    let body: unknown;
    try {
      body = JSON.parse(typeof request.body === 'string' ? request.body : '');
    } catch {
      return reply.mcpError(new RpcError(Errors.PARSE_ERROR, 'Parse error: the body must be JSON { "message": "…", "level"?: "notice" }'));
    }
    if (!NotifyBody.Check(body)) {
      return reply.mcpError(new RpcError(Errors.INVALID_PARAMS, `Invalid body: expected { "message": string (1–${MAX_MESSAGE_CHARS} characters), "level"?: one of ${LOG_LEVELS.join(', ')} }`));
    }
    const level: LoggingLevel = body.level ?? 'notice';
    const delivered = app.mcp.notifyAll(level, body.message);
    request.log.info({ delivered, level, by: request.principal?.subject }, 'admin notification sent');
    return { delivered };
  });
};

export default fp(adminRoutes, { fastify: '5.x', name: 'realtime-mcp-route-admin', encapsulate: true, dependencies: ['realtime-mcp-auth-guard'] });
