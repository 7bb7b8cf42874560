#!/usr/bin/env node
// Anchor sdk-streamable: the MCP SDK's McpServer + StreamableHTTPServerTransport at /mcp, stateful
// (an initialize without Mcp-Session-Id creates a session: its own transport and McpServer), SSE
// responses, no event store. GET opens the session's stream, DELETE ends it.
// usage: node bench/anchors/sdk-streamable.mjs --port P
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { anchorOptions, installProcessHooks, listen } from './common.mjs';
import { newSdkServer } from './sdk-tools.mjs';

const opts = anchorOptions();
installProcessHooks();
const sessions = new Map();

function rpcError(res, status, message) {
  res.writeHead(status, { 'content-type': 'application/json' })
    .end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message } }));
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => { try { resolve(JSON.parse(Buffer.concat(chunks).toString())); } catch (e) { reject(e); } });
    req.on('error', reject);
  });
}

async function newSession(req, res, body) {
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    onsessioninitialized: (id) => { sessions.set(id, transport); },
  });
  transport.onclose = () => { if (transport.sessionId) sessions.delete(transport.sessionId); };
  await newSdkServer().connect(transport);
  await transport.handleRequest(req, res, body);
}

const server = http.createServer(async (req, res) => {
  try {
    if (new URL(req.url, 'http://anchor').pathname !== '/mcp') { res.writeHead(404).end(); return; }
    const sid = req.headers['mcp-session-id'];
    const transport = typeof sid === 'string' ? sessions.get(sid) : undefined;
    if (req.method === 'POST') {
      let body;
      try { body = await readJson(req); } catch { rpcError(res, 400, 'Parse error'); return; }
      if (transport) { await transport.handleRequest(req, res, body); return; }
      if (sid !== undefined) { rpcError(res, 404, 'Session not found'); return; }
      if (!isInitializeRequest(body)) { rpcError(res, 400, 'No session: initialize first'); return; }
      await newSession(req, res, body);
      return;
    }
    if (req.method === 'GET' || req.method === 'DELETE') {
      if (!transport) { rpcError(res, sid === undefined ? 400 : 404, 'Session not found'); return; }
      await transport.handleRequest(req, res);
      return;
    }
    res.writeHead(405).end();
  } catch (e) {
    if (!res.headersSent) rpcError(res, 500, String(e));
  }
});
listen(server, opts);
