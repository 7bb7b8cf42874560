// RFC 9728 OAuth Protected Resource Metadata, at the root and path-suffixed URLs MCP clients try
// (`/.well-known/oauth-protected-resource/mcp` first, then the root). Public and CORS-open: browser
// clients fetch it cross-origin to find the authorization server. Only served with AUTH_MODE=jwt.
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { parseList } from '../src/auth/lists.js';
import { resourcePath } from '../src/auth/resource.js';
import { supportedScopes } from '../src/auth/tool-scopes.js';

const WELL_KNOWN = '/.well-known/oauth-protected-resource';

const wellKnownRoutes: FastifyPluginAsync = async (app) => {
  const config = app.mcpConfig;
  if (app.mcpAuth.mode !== 'jwt') return;
  const configured = parseList(config.AUTHORIZATION_SERVERS);
  const authorizationServers = configured.length > 0 ? configured : config.JWT_ISSUER !== '' ? [config.JWT_ISSUER] : [];

  const metadata = () => ({
    resource: app.mcpAuth.resourceUrl(),
    ...(authorizationServers.length > 0 && { authorization_servers: authorizationServers }),
    scopes_supported: supportedScopes(app.mcp.tools, parseList(config.REQUIRED_SCOPES, true)),
    bearer_methods_supported: ['header'],
    resource_name: app.mcp.identity.title ?? app.mcp.identity.name,
  });
  const handler = async (_request: unknown, reply: FastifyReply) => {
    reply.header('Access-Control-Allow-Origin', '*');
    reply.header('Cache-Control', 'public, max-age=300');
    return metadata();
  };
  const paths = new Set([WELL_KNOWN, `${WELL_KNOWN}/mcp`, `${WELL_KNOWN}${resourcePath(config.RESOURCE_URL)}`]);
  for (const path of paths) app.get(path, handler);
};

export default wellKnownRoutes;
