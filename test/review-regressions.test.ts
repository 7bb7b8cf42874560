// Regressions found in review: inputs that once crashed the server or let memory grow without bound.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Type from 'typebox';
import { defineTool } from '../src/tools/define.js';
import { MemoryEventLog } from '../src/outbox/memory-event-log.js';
import { startServer, type TestServer } from './helpers/server.js';
import { openRaw } from './helpers/raw-ws.js';
import { waitUntil } from './helpers/wait.js';

const unserializable = defineTool({
  name: 'unserializable',
  description: 'returns a result JSON cannot encode',
  inputSchema: Type.Object({}),
  handler: () => ({ content: [{ type: 'text', text: 'x' }], structuredContent: { n: 10n as unknown as number } }),
});

/** One server for the tests that only need their own session on it (the shutdown test has its own). */
let server: TestServer;
before(async () => {
  server = await startServer({ tools: [unserializable] });
});
after(() => server.close());

test('a tool result JSON cannot encode (BigInt) is answered with -32603 and the server keeps serving', async (t) => {
  const c = await openRaw(server.wsUrl);
  t.after(() => c.close());
  await c.initialize();
  c.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'unserializable', arguments: {} } });
  const answer = await c.waitFor((m) => m.id === 1);
  assert.equal(answer.error.code, -32603);
  assert.match(answer.error.message, /could not be serialized/);
  c.send({ jsonrpc: '2.0', id: 2, method: 'ping' });
  assert.deepEqual((await c.waitFor((m) => m.id === 2)).result, {});
});

test('the event log keeps at most maxBytes of text, evicting the oldest', () => {
  const log = new MemoryEventLog({ maxEvents: 1000, maxBytes: 10_000 });
  const big = 'x'.repeat(4000);
  for (let i = 0; i < 5; i++) log.append('g', big);
  // 5 × 4000 > 10,000: only the newest two fit.
  assert.deepEqual(log.replay('g', 0).events.map((e) => e.seq), [4, 5]);
});

test('Streamable HTTP: a second request reusing an id still in flight gets 400 -32600, and the first still completes', async () => {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const post = (body: unknown, sessionId?: string) =>
    fetch(`${server.httpUrl}/mcp`, { method: 'POST', headers: { ...headers, ...(sessionId && { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' }) }, body: JSON.stringify(body) });
  const init = await post({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '0' } } });
  const sessionId = init.headers.get('mcp-session-id')!;
  await init.text();
  const long = post({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'process_batch', arguments: { count: 5, delayMs: 40 } } }, sessionId);
  const first = await long; // headers arrive when the SSE stream opens
  const duplicate = await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, sessionId);
  assert.equal(duplicate.status, 400);
  assert.equal((await duplicate.json()).error.code, -32600);
  const stream = await first.text();
  assert.match(stream, /"id":1,"result":\{"content":\[\{"type":"text","text":"Processed 5 items/);
});

test('resources/subscribe refuses a URI that names no resource (-32002) and keeps nothing for it', async (t) => {
  const c = await openRaw(server.wsUrl);
  t.after(() => c.close());
  await c.initialize();
  c.send({ jsonrpc: '2.0', id: 1, method: 'resources/subscribe', params: { uri: 'made-up://' + 'x'.repeat(1000) } });
  const refused = await c.waitFor((m) => m.id === 1);
  assert.equal(refused.error.code, -32002);
  assert.equal(server.app.mcp.resources.subscribersOf('made-up://' + 'x'.repeat(1000)).size, 0);
  c.send({ jsonrpc: '2.0', id: 2, method: 'resources/subscribe', params: { uri: 'realtime://server/stats' } });
  assert.deepEqual((await c.waitFor((m) => m.id === 2)).result, {});
});

test('during the shutdown grace period a new tools/call is refused with -32010 while the running one finishes', async () => {
  const server = await startServer({ config: { SHUTDOWN_GRACE_MS: 5000 } });
  const c = await openRaw(server.wsUrl);
  await c.initialize();
  c.send({ jsonrpc: '2.0', id: 'long', method: 'tools/call', params: { name: 'process_batch', arguments: { count: 20, delayMs: 20 } } });
  // The call must be running before the shutdown starts (a guessed sleep is too short on a busy machine).
  await waitUntil(() => server.app.mcp.runner.size === 1, 'the long call to start');
  const closing = server.close();
  await c.waitFor((m) => m.method === 'notifications/message' && m.params.level === 'warning');
  c.send({ jsonrpc: '2.0', id: 'late', method: 'tools/call', params: { name: 'echo', arguments: { message: 'too late' } } });
  assert.equal((await c.waitFor((m) => m.id === 'late')).error.code, -32010);
  assert.match(c.received.find((m) => m.id === 'long')?.result?.content[0].text ?? (await c.waitFor((m) => m.id === 'long')).result.content[0].text, /Processed 20 items/);
  assert.equal((await c.closed).code, 1001);
  await closing;
});
