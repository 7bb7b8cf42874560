// RFC 9728 OAuth Protected Resource Metadata, at the path-suffixed and root URLs MCP clients try
// (`/.well-known/oauth-protected-resource/mcp` first, then the root; under the plugin's prefix when it
// has one, see src/auth/resource.ts). Public and CORS-open: browser clients fetch it cross-origin to
// find the authorization server. Served only with authentication on (with it off there is no
// authorization server to point to, and no challenge points here).
import fp from 'fastify-plugin';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { parseList } from '../src/auth/lists.js';
import { protectedResourceMetadataPaths } from '../src/auth/resource.js';
import { supportedScopes } from '../src/auth/tool-scopes.js';

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
  // The resource URL (and so its path) is known at registration when configured, else it is <prefix>/mcp.
  const resourceUrl = config.RESOURCE_URL !== '' ? config.RESOURCE_URL : `http://localhost${app.prefix}/mcp`;
  for (const path of protectedResourceMetadataPaths(resourceUrl, app.prefix)) app.get(path, handler);
};

export default fp(wellKnownRoutes, { fastify: '5.x', name: 'realtime-mcp-route-well-known', encapsulate: true, dependencies: ['realtime-mcp-auth-support'] });
