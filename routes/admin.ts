// Operator routes under /admin. They need a token with the `admin` scope; with no authentication
// (AUTH_MODE=none) they answer 403 unless ADMIN_ROUTES_WITHOUT_AUTH=true and the caller is on this machine.
//
// POST /admin/notify { message, level? } sends `notifications/message` to every session on every
// transport (e.g. "Server will restart in 5 minutes") and answers { delivered: N }.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import { isLoopbackHost } from '../src/config.js';
import { LOG_LEVELS } from '../src/sessions/session.js';
import { bearerChallenge } from '../src/auth/www-authenticate.js';
import type {} from '../plugins/auth.js'; // the `mcpAuth` decorator's type

const ADMIN_SCOPE = 'admin';
const MAX_MESSAGE_CHARS = 10_000;

interface NotifyBody {
  message: string;
  level?: LoggingLevel;
}

const notifySchema = {
  body: {
    type: 'object',
    required: ['message'],
    additionalProperties: false,
    properties: {
      message: { type: 'string', minLength: 1, maxLength: MAX_MESSAGE_CHARS },
      level: { type: 'string', enum: LOG_LEVELS },
    },
  },
} as const;

const adminRoutes: FastifyPluginAsync = async (app) => {
  const config = app.mcpConfig;

  /** True when no authentication runs, so there is no real principal to ask for the admin scope. */
  const authOff = () => !app.hasDecorator('mcpAuth') || app.mcpAuth.mode === 'none';

  async function requireAdmin(request: FastifyRequest, reply: FastifyReply) {
    if (request.principal?.scopes.includes(ADMIN_SCOPE)) return;
    // Both the socket and the client address (X-Forwarded-For from a trusted proxy) must be loopback,
    // so a reverse proxy on this machine does not make remote callers look local.
    if (authOff() && config.ADMIN_ROUTES_WITHOUT_AUTH && isLoopbackHost(request.socket.remoteAddress ?? '') && isLoopbackHost(request.ip)) return;
    const description = authOff()
      ? 'admin routes need the admin scope; without authentication set ADMIN_ROUTES_WITHOUT_AUTH=true and call from this machine'
      : 'missing scope: admin';
    const challenge = app.hasDecorator('mcpAuth')
      ? bearerChallenge({ error: 'insufficient_scope', scopes: [ADMIN_SCOPE], description, resourceMetadataUrl: app.mcpAuth.resourceMetadataUrl() })
      : `Bearer error="insufficient_scope", scope="${ADMIN_SCOPE}"`;
    return reply.code(403).header('WWW-Authenticate', challenge).send({ error: 'insufficient_scope', error_description: description });
  }

  app.post<{ Body: NotifyBody }>('/admin/notify', { schema: notifySchema, preHandler: requireAdmin }, async (request) => {
    const level = request.body.level ?? 'notice';
    const delivered = app.mcp.notifyAll(level, request.body.message);
    request.log.info({ delivered, level, by: request.principal?.subject }, 'admin notification sent');
    return { delivered };
  });
};

export default adminRoutes;
