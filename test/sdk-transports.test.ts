// End to end over real loopback sockets with the MCP SDK's own Client, once per transport: WebSocket
// (/mcp/ws), legacy SSE (/mcp/sse + POST) and Streamable HTTP (/mcp), against one server, one registry.
import { before, after } from 'node:test';
import { startServer, type TestServer } from './helpers/server.js';
import { defineTransportSuite, watchAbortTool } from './helpers/transport-suite.js';

let server: TestServer;
before(async () => {
  server = await startServer({ tools: [watchAbortTool] });
});
after(() => server.close());

defineTransportSuite('direct', () => ({
  ws: server.wsUrl,
  sse: `${server.httpUrl}/mcp/sse`,
  streamable: `${server.httpUrl}/mcp`,
}));
