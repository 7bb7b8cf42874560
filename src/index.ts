// Public API: register realtime-mcp in your own Fastify app, or build the standalone server.
export { default as realtimeMcp, type RealtimeMcpOptions } from '../plugins/realtime-mcp.js';
export { buildApp } from './app.js';
export { loadConfig, configDocs, type Config } from './config.js';
export { defineTool, type ToolDefinition, type ToolContext, type ToolResult, type ProgressUpdate } from './tools/define.js';
export { builtinTools, echoTool, processBatchTool } from './tools/builtin/index.js';
export { RpcCode, RpcError, ToolError, CloseCode } from './errors.js';
export { McpCore } from './mcp-core.js';
export { WebSocketServerTransport } from './transports/websocket-transport.js';
export type { Principal } from './sessions/principal.js';
