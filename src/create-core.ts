// The core as configured by settings: limits, event log bounds and backpressure from the config; the
// built-in tools (on request) and the conformance fixtures (MCP_FIXTURES=conformance) beside the
// caller's tools. Shared by the Fastify plugin and `realtime-mcp serve --stdio`.
import type { Config } from './config.js';
import { McpCore, type CoreLogger } from './mcp-core.js';
import type { ServerIdentity } from './protocol/dispatcher.js';
import type { ToolDefinition } from './tools/define.js';
import { createBuiltinTools } from './tools/builtin/index.js';
import { conformanceTools, installConformanceFixtures } from './fixtures/conformance.js';
import { createMemoryStores } from './stores/memory/memory-stores.js';
import type { Stores } from './stores/types.js';
import { PACKAGE } from './version.js';

export interface CoreExtras {
  /** Your tools, registered next to the built-in ones when those are on. */
  tools?: ToolDefinition<any>[];
  /** Register `echo`, `process_batch` and `process_images`. */
  builtinTools?: boolean;
  /** Server name/version/title/instructions announced in `initialize`. */
  identity?: Partial<ServerIdentity>;
  logger?: CoreLogger;
  /** Where sessions, event logs and cluster state live (default: in memory, EVENT_BUFFER_EVENTS/EVENT_BUFFER_BYTES). */
  stores?: Stores;
}

export function createCoreFromConfig(config: Config, extras: CoreExtras = {}): McpCore {
  const fixtures = config.MCP_FIXTURES === 'conformance';
  const tools = [
    ...(extras.builtinTools ? createBuiltinTools(config) : []),
    ...(fixtures ? conformanceTools : []),
    ...(extras.tools ?? []),
  ];
  const core = new McpCore({
    identity: { name: PACKAGE.name, version: PACKAGE.version, ...extras.identity },
    tools,
    maxSessions: config.MAX_SESSIONS,
    limits: {
      maxConcurrentPerSession: config.MAX_CONCURRENT_PER_SESSION,
      maxConcurrentOperations: config.MAX_CONCURRENT_OPERATIONS,
      maxQueuedPerSession: config.MAX_QUEUED_PER_SESSION,
      defaultTimeoutMs: config.TOOL_TIMEOUT_MS,
    },
    stores: extras.stores ?? createMemoryStores({ eventLog: { maxEvents: config.EVENT_BUFFER_EVENTS, maxBytes: config.EVENT_BUFFER_BYTES } }),
    outbox: { highWaterBytes: config.SEND_HIGH_WATER_BYTES, slowClientTimeoutMs: config.SLOW_CLIENT_TIMEOUT_MS },
    logger: extras.logger,
    mrtrSecret: config.MRTR_SECRET,
  });
  if (fixtures) installConformanceFixtures(core);
  return core;
}
