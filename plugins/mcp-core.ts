// Decorates the Fastify instance with the one McpCore (tool registry, sessions, runner) and the
// resolved config, so every route and transport shares them.
import fp from 'fastify-plugin';
import type { FastifyPluginAsync } from 'fastify';
import { loadConfig, type Config } from '../src/config.js';
import { McpCore } from '../src/mcp-core.js';
import { createBuiltinTools } from '../src/tools/builtin/index.js';
import type { ToolDefinition } from '../src/tools/define.js';
import type { ServerIdentity } from '../src/protocol/dispatcher.js';
import { PACKAGE } from '../src/version.js';
import { conformanceTools, installConformanceFixtures } from '../src/fixtures/conformance.js';

export interface RealtimeMcpOptions {
  /** Settings; anything left out takes its documented default (the plugin does not read process.env). */
  config?: Partial<Config>;
  /** Your tools, registered next to (or instead of) the built-in ones. */
  tools?: ToolDefinition<any>[];
  /** Register `echo`, `process_batch` and `process_images` (default true). */
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
  const fixtures = config.MCP_FIXTURES === 'conformance';
  const tools = [...(opts.builtinTools === false ? [] : createBuiltinTools(config)), ...(fixtures ? conformanceTools : []), ...(opts.tools ?? [])];
  const core = new McpCore({
    identity: { name: PACKAGE.name, version: PACKAGE.version, ...opts.identity },
    tools,
    maxSessions: config.MAX_SESSIONS,
    limits: {
      maxConcurrentPerSession: config.MAX_CONCURRENT_PER_SESSION,
      maxConcurrentOperations: config.MAX_CONCURRENT_OPERATIONS,
      maxQueuedPerSession: config.MAX_QUEUED_PER_SESSION,
      defaultTimeoutMs: config.TOOL_TIMEOUT_MS,
    },
    logger: app.log,
  });
  if (fixtures) installConformanceFixtures(core);
  app.decorate('mcp', core);
  app.decorate('mcpConfig', config);
};

export default fp(mcpCorePlugin, { fastify: '5.x', name: 'realtime-mcp-core' });
