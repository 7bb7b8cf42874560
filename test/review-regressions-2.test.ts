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
import { hsToken, randomSecret } from './helpers/tokens.js';

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
  const { sessionId, second } = await detachedSessionAndNewSocket(server.wsUrl, server.app.mcp.sessions);
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

/** Open subscriptions/listen on one socket until `count`; resolves with the answer to the last one. */
async function listenMany(wsUrl: string, count: number, headers: Record<string, string> = {}): Promise<{ last: any; ws: WebSocket }> {
  const ws = new WebSocket(wsUrl, 'mcp', { headers });
  await new Promise((r) => ws.on('open', r));
  const answers = new Map<number, any>();
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString());
    if (typeof m.id === 'number') answers.set(m.id, m);
    else if (m.method === 'notifications/subscriptions/acknowledged') answers.set(Number(m.params?._meta?.['io.modelcontextprotocol/subscriptionId'] ?? m.params?.subscriptionId), m);
  });
  for (let id = 1; id <= count; id++) {
    ws.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'subscriptions/listen', params: { notifications: { resourceSubscriptions: ['realtime://server/stats'] }, _meta: modernMeta } }));
  }
  await waitUntil(() => answers.has(count), 'the answer to the last listen');
  return { last: answers.get(count), ws };
}

test('2026-07-28: one caller cannot take every subscriptions/listen slot (a cap per principal, -32030)', async (t) => {
  const secret = randomSecret();
  const server = await startServer({ config: { AUTH_MODE: 'jwt', JWT_SECRET: secret } });
  t.after(() => server.close());
  const token = await hsToken(secret, { audience: `${server.httpUrl}/mcp`, claims: { sub: 'greedy' } });
  const { last, ws } = await listenMany(server.wsUrl, MAX_LISTENS_PER_PRINCIPAL + 1, { authorization: `Bearer ${token}` });
  assert.equal(last.error?.code, -32030);
  ws.close();
});

test('2026-07-28 without auth: there is no caller to count by, so the per-caller cap does not apply (the server-wide one does)', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const { last, ws } = await listenMany(server.wsUrl, MAX_LISTENS_PER_PRINCIPAL + 1);
  assert.equal(last.error, undefined, JSON.stringify(last));
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

// From the third review: fixes of the second one that went wrong.

test('Streamable HTTP: a DELETE in the same turn as a tools/call POST of that session: no crash, nothing left behind (20 of 20)', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  /** One request on its own connection, written at once; resolves with the status line. */
  const send = (socket: import('node:net').Socket, method: string, sid: string, body: string) =>
    new Promise<string>((resolve) => {
      let out = '';
      socket.on('data', (d) => (out += d));
      socket.on('close', () => resolve(out.split('\r\n')[0]!));
      setTimeout(() => socket.destroy(), 1_000);
      socket.write(`${method} /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\nmcp-session-id: ${sid}\r\nmcp-protocol-version: 2025-11-25\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
  const { connect } = await import('node:net');
  const open = () => new Promise<import('node:net').Socket>((resolve) => { const s = connect(server.port, '127.0.0.1', () => resolve(s)); });
  for (let attempt = 0; attempt < 20; attempt++) {
    const init = await fetch(`${server.httpUrl}/mcp`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } }) });
    const sid = init.headers.get('mcp-session-id')!;
    await init.text();
    const call = JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'process_batch', arguments: { count: 100, delayMs: 20 } } });
    const [post, del] = await Promise.all([open(), open()]);
    const [postStatus, delStatus] = await Promise.all([send(post, 'POST', sid, call), send(del, 'DELETE', sid, '')]);
    assert.match(delStatus, / 200 /, `attempt ${attempt}`);
    assert.match(postStatus, / (200|404) /, `attempt ${attempt}: ${postStatus}`);
  }
  await waitUntil(() => server.app.mcp.sessions.size === 0 && server.app.mcp.runner.running === 0, 'no session and no call left');
  assert.equal((await fetch(`${server.httpUrl}/healthz`)).status, 200);
});

test('WebSocket: a flood pipelined behind session/resume is cut off with 1008 instead of being queued', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const { sessionId, second } = await detachedSessionAndNewSocket(server.wsUrl, server.app.mcp.sessions);
  const closed = new Promise<number>((resolve) => second.on('close', (code) => resolve(code)));
  const frames = [JSON.stringify({ jsonrpc: '2.0', id: 'r', method: 'session/resume', params: { sessionId, lastEventId: 0 } })];
  for (let i = 0; i < 2_000; i++) frames.push(JSON.stringify({ jsonrpc: '2.0', id: i, method: 'ping' }));
  // One TCP write, so every frame is read before the resume is decided.
  const socket = (second as unknown as { _socket: import('node:net').Socket })._socket;
  const { Sender } = (await import('ws')).default as unknown as { Sender: { frame(data: Buffer, o: object): Buffer[] } };
  const wire = Buffer.concat(frames.flatMap((f) => Sender.frame(Buffer.from(f), { fin: true, opcode: 1, mask: true, maskKey: Buffer.alloc(4), readOnly: false, rsv1: false })));
  socket.write(wire);
  assert.equal(await closed, 1008);
  assert.equal((await fetch(`${server.httpUrl}/healthz`)).status, 200);
});

test('2026-07-28 over WebSocket: subscriptions of a connection taken over by session/resume end with it (their slots are free again)', async (t) => {
  const secret = randomSecret();
  const server = await startServer({ config: { AUTH_MODE: 'jwt', JWT_SECRET: secret } });
  t.after(() => server.close());
  const headers = { authorization: `Bearer ${await hsToken(secret, { audience: `${server.httpUrl}/mcp`, claims: { sub: 'mover' } })}` };
  const { last, ws: first } = await listenMany(server.wsUrl, MAX_LISTENS_PER_PRINCIPAL, headers);
  assert.equal(last.error, undefined, 'every slot taken');
  const sessionId = [...server.app.mcp.sessions.all()].find((s) => s.connected && s.principal?.subject === 'mover')!.id;
  const taker = new WebSocket(server.wsUrl, 'mcp', { headers });
  await new Promise((r) => taker.on('open', r));
  const firstClosed = new Promise((r) => first.on('close', r));
  taker.send(JSON.stringify({ jsonrpc: '2.0', id: 'r', method: 'session/resume', params: { sessionId, lastEventId: 0 } }));
  await firstClosed;
  const { last: again, ws } = await listenMany(server.wsUrl, 1, headers);
  assert.equal(again.error, undefined, `a slot is free again: ${JSON.stringify(again)}`);
  ws.close();
  taker.close();
});

/**
 * A WebSocket session whose connection dropped (detached, waiting to be resumed), and a second socket
 * open on the server, not yet resuming it.
 */
async function detachedSessionAndNewSocket(wsUrl: string, sessions: { get(id: string): { detached: boolean } | undefined }): Promise<{ sessionId: string; second: WebSocket }> {
  const first = new WebSocket(wsUrl, 'mcp');
  // 'open' follows 'upgrade' in the same tick: wait for both together.
  let sessionId = '';
  first.on('upgrade', (r) => { sessionId = r.headers['mcp-session-id'] as string; });
  await new Promise((r) => first.on('open', r));
  first.terminate();
  await waitUntil(() => sessions.get(sessionId)?.detached === true, 'the session to wait for its client');
  const second = new WebSocket(wsUrl, 'mcp');
  await new Promise((r) => second.on('open', r));
  return { sessionId, second };
}
