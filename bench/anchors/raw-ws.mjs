#!/usr/bin/env node
// Anchor raw-ws: a `ws` WebSocketServer on node:http at /mcp/ws (subprotocol mcp) that answers
// initialize, ping, tools/list and tools/call (echo, process_batch) by hand: JSON.parse, a method switch,
// typeof checks, one ws.send per message. `--cork`: frames written in one tick leave in one writev.
// usage: node bench/anchors/raw-ws.mjs --port P [--cork]
import http from 'node:http';
import { WebSocketServer } from 'ws';
import { anchorOptions, installProcessHooks, listen, SERVER_INFO, yielder, sleep } from './common.mjs';

const opts = anchorOptions();
const cork = opts.flag('cork');
installProcessHooks();

const VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'];
const TOOLS = [
  { name: 'echo', description: 'Returns the message', inputSchema: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] } },
  { name: 'process_batch', description: 'count items, one progress notification each', inputSchema: { type: 'object', properties: { count: { type: 'integer', minimum: 0 }, delayMs: { type: 'number', minimum: 0 } }, required: ['count'] } },
];
const ok = (id, result) => JSON.stringify({ jsonrpc: '2.0', id, result });
const fail = (id, code, message) => JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } });

function sender(ws) {
  if (!cork) return (text) => ws.send(text);
  let corked = false;
  const uncork = () => { corked = false; ws._socket.uncork(); };
  return (text) => {
    if (!corked) { corked = true; ws._socket.cork(); process.nextTick(uncork); }
    ws.send(text);
  };
}

async function processBatch(send, id, count, delayMs, token) {
  const head = token === undefined ? '' : `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":${JSON.stringify(token)},"progress":`;
  const tail = `,"total":${count}}}`;
  const turn = yielder();
  for (let i = 1; i <= count; i++) {
    if (delayMs > 0) await sleep(delayMs);
    if (token !== undefined) send(head + i + tail);
    const t = turn();
    if (t !== undefined) await t;
  }
  send(ok(id, { content: [{ type: 'text', text: `processed ${count} items` }] }));
}

function onMessage(send, text) {
  let msg;
  try { msg = JSON.parse(text); } catch { send(fail(null, -32700, 'Parse error')); return; }
  if (msg === null || typeof msg !== 'object' || msg.jsonrpc !== '2.0') { send(fail(null, -32600, 'Invalid Request')); return; }
  const { id, method, params } = msg;
  if (id === undefined || typeof method !== 'string') return; // notifications, answers to our requests
  switch (method) {
    case 'tools/call': {
      const args = params?.arguments;
      if (params?.name === 'echo') {
        if (typeof args?.message !== 'string') send(fail(id, -32602, 'message must be a string'));
        else send(ok(id, { content: [{ type: 'text', text: args.message }] }));
        return;
      }
      if (params?.name === 'process_batch') {
        const count = args?.count;
        const delayMs = args?.delayMs ?? 0;
        if (!Number.isInteger(count) || count < 0 || typeof delayMs !== 'number' || delayMs < 0) { send(fail(id, -32602, 'bad arguments')); return; }
        processBatch(send, id, count, delayMs, params?._meta?.progressToken);
        return;
      }
      send(fail(id, -32602, `Unknown tool: ${params?.name}`));
      return;
    }
    case 'initialize': {
      const asked = params?.protocolVersion;
      send(ok(id, { protocolVersion: VERSIONS.includes(asked) ? asked : VERSIONS[0], capabilities: { tools: {} }, serverInfo: SERVER_INFO }));
      return;
    }
    case 'ping': send(ok(id, {})); return;
    case 'tools/list': send(ok(id, { tools: TOOLS })); return;
    default: send(fail(id, -32601, `Method not found: ${method}`));
  }
}

const server = http.createServer((_req, res) => { res.writeHead(404).end(); });
const wss = new WebSocketServer({
  noServer: true,
  perMessageDeflate: false,
  handleProtocols: (offered) => (offered.has('mcp') ? 'mcp' : false),
});
server.on('upgrade', (req, socket, head) => {
  if (new URL(req.url, 'http://x').pathname !== '/mcp/ws') { socket.destroy(); return; }
  wss.handleUpgrade(req, socket, head, (ws) => {
    const send = sender(ws);
    ws.on('message', (data, isBinary) => { if (!isBinary) onMessage(send, data.toString()); });
    ws.on('error', () => {});
  });
});
listen(server, opts);
