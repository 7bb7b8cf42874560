#!/usr/bin/env node
// Anchor sdk-sse: the MCP SDK's McpServer + legacy SSEServerTransport on node:http, one server per
// session: GET /mcp/sse opens a session's stream, POST /mcp/messages?sessionId= carries its messages.
// usage: node bench/anchors/sdk-sse.mjs --port P
import http from 'node:http';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { anchorOptions, installProcessHooks, listen } from './common.mjs';
import { newSdkServer } from './sdk-tools.mjs';

const opts = anchorOptions();
installProcessHooks();
const transports = new Map();

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://anchor');
    if (req.method === 'GET' && url.pathname === '/mcp/sse') {
      const transport = new SSEServerTransport('/mcp/messages', res);
      transports.set(transport.sessionId, transport);
      transport.onclose = () => transports.delete(transport.sessionId);
      res.on('close', () => transports.delete(transport.sessionId));
      await newSdkServer().connect(transport); // starts the stream and sends the endpoint event
      return;
    }
    if (req.method === 'POST' && url.pathname === '/mcp/messages') {
      const transport = transports.get(url.searchParams.get('sessionId') ?? '');
      if (!transport) { res.writeHead(404, { 'content-type': 'text/plain' }).end('Session not found'); return; }
      await transport.handlePostMessage(req, res);
      return;
    }
    res.writeHead(404).end();
  } catch (e) {
    if (!res.headersSent) res.writeHead(500).end(String(e));
  }
});
listen(server, opts);
