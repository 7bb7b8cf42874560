// MCP 2026-07-28 over the WebSocket (/mcp/ws, our own transport binding) with a raw `ws` client: a
// socket whose first request carries the revision's _meta gets the stateless rules per frame
// (discover, per-request checks, progress before the result, cancellation by notifications/cancelled
// and by closing the socket, listen, input-required rounds, a tampered requestState refused) and never
// a JSON-RPC request from the server; a discover probe decides nothing, so initialize after it still
// opens a 2025-11-25 session.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from './helpers/server.js';
import { openRaw, type RawClient } from './helpers/raw-ws.js';
import { envelope, MODERN, modernTestTools, waitUntil } from './helpers/modern.js';

const OPERATIONS = 'realtime://operations';

describe('MCP 2026-07-28 over /mcp/ws (raw ws client)', () => {
  let server: TestServer;
  const sockets: RawClient[] = [];
  before(async () => {
    server = await startServer({ tools: modernTestTools });
  });
  after(async () => {
    for (const s of sockets) s.close();
    await server.close();
  });
  async function socket(): Promise<RawClient> {
    const s = await openRaw(server.wsUrl);
    sockets.push(s);
    return s;
  }
  let nextId = 1;
  /** Send one enveloped request; resolves with its answer (other frames stay in `received`). */
  async function call(s: RawClient, method: string, params: Record<string, unknown> = {}, meta: Record<string, unknown> = {}, capabilities: Record<string, unknown> = {}): Promise<any> {
    const id = nextId++;
    s.send({ jsonrpc: '2.0', id, method, params: { ...params, _meta: { ...envelope(meta, capabilities), ...(params._meta as object) } } });
    return s.waitFor((m) => m.id === id && !('method' in m), 10_000);
  }
  const noServerRequests = (s: RawClient) => assert.equal(s.received.filter((m) => 'method' in m && 'id' in m).length, 0, 'the server sent a JSON-RPC request');

  test('a discover probe decides nothing: initialize afterwards opens a 2025-11-25 session', async () => {
    const s = await socket();
    const d = await call(s, 'server/discover');
    assert.equal(d.result.resultType, 'complete');
    assert.ok(d.result.supportedVersions.includes(MODERN));
    const init = await s.initialize();
    assert.equal(init.protocolVersion, '2025-11-25');
    s.send({ jsonrpc: '2.0', id: 'l1', method: 'tools/list' });
    const list = await s.waitFor((m) => m.id === 'l1');
    assert.ok(list.result.tools.length > 0);
    assert.equal(list.result.resultType, undefined, '2025-11-25 results are unchanged');
  });

  test('per-request checks on a modern socket', async () => {
    const s = await socket();
    const list = await call(s, 'tools/list');
    assert.equal(list.result.resultType, 'complete');
    assert.equal(typeof list.result.ttlMs, 'number');
    s.send({ jsonrpc: '2.0', id: 'bare', method: 'tools/list' });
    const bare = await s.waitFor((m) => m.id === 'bare');
    assert.equal(bare.error.code, -32602, 'no envelope on a modern socket');
    assert.equal((await call(s, 'initialize', { protocolVersion: MODERN, capabilities: {}, clientInfo: { name: 'x', version: '1' } })).error.code, -32601);
    assert.equal((await call(s, 'ping')).error.code, -32601);
    const v = await call(s, 'tools/list', {}, { 'io.modelcontextprotocol/protocolVersion': '2099-01-01' });
    assert.equal(v.error.code, -32022);
    assert.deepEqual(v.error.data.requested, '2099-01-01');
    const cap = await call(s, 'tools/call', { name: 'ask_name', arguments: {} });
    assert.equal(cap.error.code, -32021);
    assert.deepEqual(cap.error.data.requiredCapabilities, { elicitation: {} });
    noServerRequests(s);
  });

  test('progress: every notification of a 100-item burst before its result (20 runs)', async () => {
    const s = await socket();
    for (let run = 0; run < 20; run++) {
      const token = `run-${run}`;
      const before = s.received.length;
      const answer = await call(s, 'tools/call', { name: 'burst', arguments: { count: 100 }, _meta: { progressToken: token } });
      assert.equal(answer.result.content[0].text, 'burst of 100');
      const frames = s.received.slice(before);
      const resultAt = frames.indexOf(answer);
      const progress = frames.filter((m) => m.method === 'notifications/progress' && m.params.progressToken === token);
      assert.equal(progress.length, 100, `run ${run}`);
      assert.ok(frames.lastIndexOf(progress.at(-1)) < resultAt, 'the last progress precedes the result');
    }
    noServerRequests(s);
  });

  test('notifications/cancelled stops the call, records it as cancelled and sends nothing for it', async () => {
    const s = await socket();
    const id = 'long-1';
    s.send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'process_batch', arguments: { count: 10_000, delayMs: 10 }, _meta: { ...envelope(), progressToken: 'c1' } } });
    await s.waitFor((m) => m.method === 'notifications/progress' && m.params.progressToken === 'c1' && m.params.progress >= 3);
    s.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'enough' } });
    await waitUntil(() => server.app.mcp.runner.size === 0, 'the call to stop');
    const ops = await call(s, 'resources/read', { uri: OPERATIONS });
    const view = JSON.parse(ops.result.contents[0].text).operations.find((o: { requestId: unknown }) => o.requestId === id);
    assert.equal(view.state, 'cancelled');
    assert.equal(view.transport, 'ws');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(s.received.filter((m) => m.id === id).length, 0, 'no response to a cancelled request');
  });

  test('closing the socket cancels its calls', async () => {
    const s = await socket();
    s.send({ jsonrpc: '2.0', id: 'gone-1', method: 'tools/call', params: { name: 'process_batch', arguments: { count: 10_000, delayMs: 10 }, _meta: { ...envelope(), progressToken: 'g1' } } });
    await s.waitFor((m) => m.method === 'notifications/progress' && m.params.progressToken === 'g1');
    s.close();
    await s.closed;
    await waitUntil(() => server.app.mcp.runner.size === 0, 'the call to stop');
    server.app.mcp.live.tracker.sync();
    const view = server.app.mcp.live.tracker.view('*').find((o) => o.requestId === 'gone-1');
    assert.equal(view?.state, 'cancelled');
  });

  test('listen: acknowledgment first, resources/updated tagged with the subscription id, ended by notifications/cancelled', async () => {
    const s = await socket();
    const listenId = 'sub-1';
    s.send({ jsonrpc: '2.0', id: listenId, method: 'subscriptions/listen', params: { notifications: { resourceSubscriptions: [OPERATIONS], toolsListChanged: true }, _meta: envelope() } });
    const ack = await s.waitFor((m) => m.method === 'notifications/subscriptions/acknowledged');
    assert.deepEqual(ack.params.notifications, { resourceSubscriptions: [OPERATIONS] }, 'tools.listChanged is false: not honored');
    assert.equal(ack.params._meta['io.modelcontextprotocol/subscriptionId'], listenId);
    await call(s, 'tools/call', { name: 'process_batch', arguments: { count: 10, delayMs: 40 } });
    const update = await s.waitFor((m) => m.method === 'notifications/resources/updated');
    assert.equal(update.params.uri, OPERATIONS);
    assert.equal(update.params._meta['io.modelcontextprotocol/subscriptionId'], listenId);
    s.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: listenId } });
    await waitUntil(() => server.app.mcp.modern.listenCount === 0, 'the subscription to end');
    noServerRequests(s);
  });

  test('input-required rounds over frames; a tampered requestState is refused', async () => {
    const s = await socket();
    const caps = { elicitation: {} };
    const r1 = await call(s, 'tools/call', { name: 'ask_name', arguments: {} }, {}, caps);
    assert.equal(r1.result.resultType, 'input_required');
    assert.equal(r1.result.inputRequests.elicitation_create.method, 'elicitation/create');
    const inputResponses = { elicitation_create: { action: 'accept', content: { name: 'Lin' } } };
    const bad = await call(s, 'tools/call', { name: 'ask_name', arguments: {}, inputResponses, requestState: `${r1.result.requestState}x` }, {}, caps);
    assert.equal(bad.error.code, -32602);
    const r2 = await call(s, 'tools/call', { name: 'ask_name', arguments: {}, inputResponses, requestState: r1.result.requestState }, {}, caps);
    assert.equal(r2.result.resultType, 'complete');
    assert.equal(r2.result.content[0].text, 'Hello, Lin');
    noServerRequests(s);
  });
});
