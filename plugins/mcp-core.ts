// Decorates the Fastify instance with the one McpCore (tool registry, sessions, runner) and the
// resolved config, so every route and transport shares them.
import fp from 'fastify-plugin';
import type { FastifyPluginAsync } from 'fastify';
import { loadConfig, type Config } from '../src/config.js';
import { McpCore } from '../src/mcp-core.js';
import { builtinTools } from '../src/tools/builtin/index.js';
import type { ToolDefinition } from '../src/tools/define.js';
import type { ServerIdentity } from '../src/protocol/dispatcher.js';
import { PACKAGE } from '../src/version.js';

export interface RealtimeMcpOptions {
  /** Settings; anything left out takes its documented default (the plugin does not read process.env). */
  config?: Partial<Config>;
  /** Your tools, registered next to (or instead of) the built-in ones. */
  tools?: ToolDefinition<any>[];
  /** Register `echo` and `process_batch` (default true). */
  builtinTools?: boolean;
  /** Server name/version/instructions announced in `initialize`. */
  identity?: Partial<ServerIdentity>;
}

declare module 'fastify' {
  interface FastifyInstance {
    mcp: McpCore;
    mcpConfig: Config;
  }
}

const mcpCorePlugin: FastifyPluginAsync<RealtimeMcpOptions> = async (app, opts) => {
  const config = loadConfig({}, opts.config ?? {});
  const tools = [...(opts.builtinTools === false ? [] : builtinTools), ...(opts.tools ?? [])];
  const core = new McpCore({
    identity: { name: PACKAGE.name, version: PACKAGE.version, ...opts.identity },
    tools,
    maxSessions: config.MAX_SESSIONS,
    logger: app.log,
  });
  app.decorate('mcp', core);
  app.decorate('mcpConfig', config);
};

export default fp(mcpCorePlugin, { fastify: '5.x', name: 'realtime-mcp-core' });
