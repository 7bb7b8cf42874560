// Regressions from the second review (the day the outbox, the cluster layer and the 2026 wire landed),
// one test per defect it reproduced on a single node; the cluster ones are in test/cluster.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Type from 'typebox';
import WebSocket from 'ws';
import { startServer } from './helpers/server.js';
import { defineTool } from '../src/tools/define.js';
import { MAX_LISTENS_PER_PRINCIPAL } from '../src/protocol/modern/server.js';
import { waitUntil } from './helpers/wait.js';

const confirmTool = defineTool({
  name: 'delete_file',
  description: 'Deletes a file after asking',
  inputSchema: Type.Object({ path: Type.String() }),
  async handler({ path }, ctx) {
    const answer = (await ctx.request('elicitation/create', { message: `Delete ${path}?`, requestedSchema: { type: 'object', properties: {} } })) as { action: string };
    return answer.action;
  },
});

const modernHeaders = (method: string, name?: string) => ({
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2026-07-28',
  'mcp-method': method,
  ...(name !== undefined && { 'mcp-name': name }),
});
const modernMeta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': { elicitation: {} } };

test('2026-07-28: arguments nested 20,000 deep to a tool that asks the client get -32602; the process goes on', async (t) => {
  const server = await startServer({ tools: [confirmTool] });
  t.after(() => server.close());
  const depth = 20_000;
  const body = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_file","arguments":{"path":"a","x":${'['.repeat(depth)}${']'.repeat(depth)}},"_meta":${JSON.stringify(modernMeta)}}}`;
  const res = await fetch(`${server.httpUrl}/mcp`, { method: 'POST', headers: modernHeaders('tools/call', 'delete_file'), body });
  const text = await res.text();
  assert.match(text, /-32602/, text.slice(0, 300));
  assert.match(text, /nested deeper than/);
  // Still serving.
  const ping = await fetch(`${server.httpUrl}/healthz`);
  assert.equal(ping.status, 200);
});

test('WebSocket: requests pipelined right behind session/resume are answered, after the resume', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const first = new WebSocket(server.wsUrl, 'mcp');
  // 'open' follows 'upgrade' in the same tick: wait for both together.
  let sessionId = '';
  first.on('upgrade', (r) => { sessionId = r.headers['mcp-session-id'] as string; });
  await new Promise((r) => first.on('open', r));
  first.terminate();
  await waitUntil(() => server.app.mcp.sessions.get(sessionId)?.detached === true, 'the session to wait for its client');
  const second = new WebSocket(server.wsUrl, 'mcp');
  await new Promise((r) => second.on('open', r));
  const answers: unknown[] = [];
  second.on('message', (d) => answers.push(JSON.parse(d.toString()).id));
  // One write: resume, then two requests that must not be lost while the handover is decided.
  const frames = [
    { jsonrpc: '2.0', id: 'r', method: 'session/resume', params: { sessionId, lastEventId: 0 } },
    { jsonrpc: '2.0', id: 2, method: 'ping' },
    { jsonrpc: '2.0', id: 3, method: 'tools/list' },
  ];
  for (const f of frames) second.send(JSON.stringify(f));
  await waitUntil(() => answers.length >= 3, 'three answers');
  assert.deepEqual(answers, ['r', 2, 3]);
  second.close();
});

test('2026-07-28: one caller cannot take every subscriptions/listen slot (a cap per principal, -32030)', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const ws = new WebSocket(server.wsUrl, 'mcp');
  await new Promise((r) => ws.on('open', r));
  const answers = new Map<number, any>();
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString());
    if (m.id !== undefined) answers.set(m.id, m);
    else if (m.method === 'notifications/subscriptions/acknowledged') answers.set(m.params?._meta?.['io.modelcontextprotocol/subscriptionId'] ?? m.params?.subscriptionId, m);
  });
  const listen = (id: number) => ws.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'subscriptions/listen', params: { notifications: { resourceSubscriptions: ['realtime://server/stats'] }, _meta: modernMeta } }));
  for (let id = 1; id <= MAX_LISTENS_PER_PRINCIPAL + 1; id++) listen(id);
  await waitUntil(() => answers.has(MAX_LISTENS_PER_PRINCIPAL + 1), 'the answer past the cap');
  assert.equal(answers.get(MAX_LISTENS_PER_PRINCIPAL + 1).error?.code, -32030);
  ws.close();
});

test('Streamable HTTP: a call cancelled with notifications/cancelled ends its POST stream, and its id can be used again', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const init = await fetch(`${server.httpUrl}/mcp`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } }) });
  const sid = init.headers.get('mcp-session-id')!;
  await init.text();
  const session = { ...headers, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' };
  const call = await fetch(`${server.httpUrl}/mcp`, { method: 'POST', headers: session, body: JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'process_batch', arguments: { count: 1000, delayMs: 20 } } }) });
  const streamEnded = call.text(); // resolves when the server ends the POST's stream
  await waitUntil(() => server.app.mcp.runner.running === 1, 'the call to run');
  const cancel = await fetch(`${server.httpUrl}/mcp`, { method: 'POST', headers: session, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 5, reason: 'enough' } }) });
  assert.equal(cancel.status, 202);
  const body = await Promise.race([streamEnded, new Promise<string>((_r, reject) => setTimeout(() => reject(new Error('the POST stream stayed open')), 5_000))]);
  assert.doesNotMatch(body, /"id":5/, 'no response for a request cancelled this way (spec)');
  const reuse = await fetch(`${server.httpUrl}/mcp`, { method: 'POST', headers: session, body: JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'ping' }) });
  assert.equal(reuse.status, 200);
  assert.deepEqual((await reuse.json()).result, {});
});
