// The package's public API. Importing it has no side effects: no environment is read, no native
// library (sharp) is loaded, nothing listens.
//   import { realtimeMcp, defineTool } from 'realtime-mcp';
//   await app.register(realtimeMcp, { prefix: '/v1', tools: [myTool], auth: { mode: 'none' } });
export { default as realtimeMcp, type RealtimeMcpOptions } from './realtime-mcp.js';
export { optionDocs, type AuthOptions } from './options.js';
export { buildApp, type BuildAppOptions } from './standalone.js';
export { defineTool, type ToolDefinition, type ToolContext, type ToolResult, type ProgressUpdate } from '../src/tools/define.js';
export { echoTool, processBatchTool, createProcessImagesTool, createBuiltinTools } from '../src/tools/builtin/index.js';
export { Errors, RpcCode, RpcError, ToolError, CloseCode, ConfigError, type ErrorKind } from '../src/errors.js';
export { loadConfig, configDocs, type Config } from '../src/config.js';
export { DEFAULTS } from '../src/defaults.js';
export { McpCore, type McpCoreOptions } from '../src/mcp-core.js';
export { createCoreFromConfig } from '../src/create-core.js';
export type { EventLog, EventLogFactory, ReplayResult } from '../src/outbox/event-log.js';
export type { Principal } from '../src/sessions/principal.js';
