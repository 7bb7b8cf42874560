// MCP 2026-07-28 on POST /mcp with real clients over real sockets: the v2 SDK client pinned to the
// revision and in `auto` mode (discover, list, call with progress, cancel by abort, listen, an
// elicitation through input-required rounds), in its default mode (legacy initialize, unchanged), and
// raw stateless POSTs for what a client library hides (the header and envelope errors, a tampered
// requestState, log levels, the listen result on shutdown).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/client';
import { startServer, type TestServer } from './helpers/server.js';
import Type from 'typebox';
import { connectV2, envelope, MODERN, modernPost, modernTestTools, waitUntil } from './helpers/modern.js';
import { bearer, hsToken, randomSecret } from './helpers/tokens.js';
import { defineTool } from '../src/tools/define.js';

const OPERATIONS = 'realtime://operations';

function textOf(result: { content?: unknown }): string {
  const first = (result.content as Array<{ type: string; text?: string }>)[0];
  return first?.text ?? '';
}

describe('MCP 2026-07-28 on /mcp: v2 SDK client', () => {
  let server: TestServer;
  const clients: Client[] = [];
  before(async () => {
    server = await startServer({ tools: modernTestTools });
  });
  after(async () => {
    for (const c of clients) await c.close().catch(() => {});
    await server.close();
  });
  const connect = async (...args: Parameters<typeof connectV2> extends [string, ...infer R] ? R : never) => {
    const c = await connectV2(server.httpUrl, ...args);
    clients.push(c);
    return c;
  };

  for (const negotiation of ['pinned', 'auto'] as const) {
    test(`${negotiation}: discover, list and call statelessly`, async () => {
      const sessionsBefore = server.app.mcp.sessions.size;
      const client = await connect(negotiation);
      assert.equal(client.getProtocolEra(), 'modern');
      assert.equal(client.getNegotiatedProtocolVersion(), MODERN);
      const discover = client.getDiscoverResult()!;
      assert.ok(discover.supportedVersions.includes(MODERN));
      assert.ok(discover.supportedVersions.includes('2025-11-25'));
      assert.equal(client.getServerVersion()?.name, 'realtime-mcp');
      const { tools } = await client.listTools();
      assert.ok(tools.some((t) => t.name === 'echo'));
      assert.ok(tools.some((t) => t.name === 'burst'));
      const result = await client.callTool({ name: 'echo', arguments: { message: 'hi' } });
      assert.equal(textOf(result), 'hi');
      assert.equal(server.app.mcp.sessions.size, sessionsBefore, 'a stateless request opens no session');
    });
  }

  test('default mode: the v2 client speaks 2025-11-25 (initialize, a session), exactly as before', async () => {
    const sessionsBefore = server.app.mcp.sessions.size;
    const client = await connect('default');
    assert.equal(client.getProtocolEra(), 'legacy');
    assert.equal(client.getNegotiatedProtocolVersion(), '2025-11-25');
    assert.equal(server.app.mcp.sessions.size, sessionsBefore + 1);
    const seen: number[] = [];
    const result = await client.callTool({ name: 'burst', arguments: { count: 50 } }, { onprogress: (p) => void seen.push(p.progress) });
    assert.equal(textOf(result), 'burst of 50');
    assert.equal(seen.length, 50);
    // A tool that asks the client: a server→client request on this wire.
    const asking = await connect('default', { elicit: () => ({ name: 'Grace' }) });
    assert.equal(textOf(await asking.callTool({ name: 'ask_name', arguments: {} })), 'Hello, Grace');
  });

  test('progress: every notification of a 100-item burst arrives before the result (20 runs)', async () => {
    const client = await connect('pinned');
    for (let run = 0; run < 20; run++) {
      const seen: number[] = [];
      const result = await client.callTool({ name: 'burst', arguments: { count: 100 } }, { onprogress: (p) => void seen.push(p.progress) });
      assert.equal(textOf(result), 'burst of 100');
      assert.equal(seen.length, 100, `run ${run}: all progress before the result`);
      assert.deepEqual(seen.slice(-2), [99, 100]);
    }
    // Rate and ETA ride along as today.
    const metas: Array<Record<string, unknown> | undefined> = [];
    const answer = await modernPost(server.httpUrl, { id: 7, method: 'tools/call', params: { name: 'process_batch', arguments: { count: 15, delayMs: 100 }, _meta: { progressToken: 'p1' } } });
    for (const e of answer.events) if (e.method === 'notifications/progress') metas.push(e.params._meta);
    assert.equal(answer.contentType, 'text/event-stream');
    assert.equal(metas.length, 15);
    assert.ok(metas.some((m) => typeof m?.rate === 'number' && typeof m?.etaMs === 'number'));
    assert.equal(answer.body.id, 7);
    assert.equal(answer.body.result.resultType, 'complete');
  });

  test('cancel by abort: the call stops and realtime://operations records it as cancelled', async () => {
    const client = await connect('pinned');
    const controller = new AbortController();
    let progressed = 0;
    const call = client.callTool({ name: 'process_batch', arguments: { count: 10_000, delayMs: 10 } }, {
      signal: controller.signal,
      onprogress: () => {
        if (++progressed === 3) controller.abort();
      },
    });
    await assert.rejects(call);
    const runner = server.app.mcp.runner;
    await waitUntil(() => runner.size === 0, 'the aborted call to stop');
    await waitUntil(async () => {
      const read = await client.readResource({ uri: OPERATIONS });
      const { operations } = JSON.parse((read.contents[0] as { text: string }).text) as { operations: Array<{ tool: string; state: string; progress: number | null }> };
      const op = operations.find((o) => o.tool === 'process_batch' && o.progress !== null && o.progress < 10_000);
      return op?.state === 'cancelled';
    }, 'the call to show as cancelled');
  });

  test('listen: a subscription to realtime://operations receives resources/updated', async () => {
    const client = await connect('pinned');
    const updates: string[] = [];
    client.setNotificationHandler('notifications/resources/updated', (n) => void updates.push(n.params.uri));
    const sub = await client.listen({ resourceSubscriptions: [OPERATIONS, 'realtime://no-such-thing'] });
    assert.deepEqual(sub.honoredFilter.resourceSubscriptions, [OPERATIONS]);
    await client.callTool({ name: 'process_batch', arguments: { count: 10, delayMs: 40 } });
    await waitUntil(() => updates.includes(OPERATIONS), 'resources/updated on the listen stream');
    await sub.close();
    assert.equal(await sub.closed, 'local');
    await waitUntil(() => server.app.mcp.modern.listenCount === 0, 'the subscription to end on the server');
  });

  test('input-required: an elicitation tool written with ctx.request completes through MRTR', async () => {
    const asked: string[] = [];
    const client = await connect('pinned', { elicit: (message) => (asked.push(message), { name: 'Ada' }) });
    const result = await client.callTool({ name: 'ask_name', arguments: { greeting: 'Hi' } });
    assert.equal(textOf(result), 'Hi, Ada');
    assert.deepEqual(asked, ['What is your name?']);
  });
});

describe('MCP 2026-07-28 on /mcp: raw stateless requests', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ tools: modernTestTools });
  });
  after(() => server.close());

  test('a tampered, replayed or foreign requestState is refused; the genuine one completes', async () => {
    const caps = { elicitation: {} };
    const call = (id: number, params: Record<string, unknown>) =>
      modernPost(server.httpUrl, { id, method: 'tools/call', params: { name: 'ask_name', arguments: {}, ...params, _meta: envelope({}, caps) } });
    const r1 = await call(1, {});
    assert.equal(r1.status, 200);
    const interim = r1.body.result;
    assert.equal(interim.resultType, 'input_required');
    assert.deepEqual(Object.keys(interim.inputRequests), ['elicitation_create']);
    assert.equal(interim.inputRequests.elicitation_create.method, 'elicitation/create');
    assert.equal(typeof interim.requestState, 'string');
    assert.equal(interim.ttlMs, undefined, 'no cache hints on an interim result');
    const answers = { elicitation_create: { action: 'accept', content: { name: 'Ada' } } };

    const tampered = `${interim.requestState.slice(0, -2)}${interim.requestState.endsWith('A') ? 'B' : 'A'}A`;
    const r2 = await call(2, { inputResponses: answers, requestState: tampered });
    assert.equal(r2.body.id, 2);
    assert.equal(r2.body.error.code, -32602);
    assert.match(r2.body.error.message, /requestState/);

    // The same state for other arguments is another request.
    const r3 = await call(3, { arguments: { greeting: 'Yo' }, inputResponses: answers, requestState: interim.requestState });
    assert.equal(r3.body.error.code, -32602);

    const r4 = await call(4, { inputResponses: answers, requestState: interim.requestState });
    assert.equal(r4.body.result.resultType, 'complete');
    assert.equal(r4.body.result.content[0].text, 'Hello, Ada');

    // An answer of the wrong shape is refused, not taken as complete.
    const r5 = await call(5, { inputResponses: { elicitation_create: 12345 } });
    assert.equal(r5.body.error.code, -32602);
  });

  test('header, envelope and version errors: status, code, and the request id echoed', async () => {
    const url = server.httpUrl;
    const list = { id: 'a', method: 'tools/list' };
    let r = await modernPost(url, list, { 'mcp-method': 'prompts/list' });
    assert.deepEqual([r.status, r.body.error.code, r.body.id], [400, -32020, 'a']);
    r = await modernPost(url, list, { 'mcp-method': undefined });
    assert.deepEqual([r.status, r.body.error.code], [400, -32020]);
    r = await modernPost(url, list, { 'mcp-method': 'TOOLS/LIST' });
    assert.deepEqual([r.status, r.body.error.code], [400, -32020]);
    r = await modernPost(url, { id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'x' } } }, { 'mcp-name': 'other' });
    assert.deepEqual([r.status, r.body.error.code], [400, -32020]);
    r = await modernPost(url, { id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'x' } } }, { 'mcp-name': `=?base64?${Buffer.from('echo').toString('base64')}?=` });
    assert.equal(r.body.result.content[0].text, 'x');
    r = await modernPost(url, { id: 2, method: 'tools/list', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': 'v999' } } }, { 'mcp-protocol-version': 'v999' });
    assert.deepEqual([r.status, r.body.error.code, r.body.id], [400, -32022, 2]);
    assert.deepEqual(r.body.error.data.requested, 'v999');
    assert.ok(r.body.error.data.supported.includes(MODERN));
    r = await modernPost(url, { id: 3, method: 'ping' });
    assert.deepEqual([r.status, r.body.error.code, r.body.id], [404, -32601, 3]);
    // The 2026 header without the envelope: the envelope is what is missing.
    const res = await fetch(`${url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/list' }),
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { code: number } }).error.code, -32602);
    // Argument errors are tool errors the model can see.
    r = await modernPost(url, { id: 5, method: 'tools/call', params: { name: 'echo', arguments: {} } });
    assert.equal(r.status, 200);
    assert.equal(r.body.result.isError, true);
    // A question the client declared no capability for: 400 -32021.
    r = await modernPost(url, { id: 6, method: 'tools/call', params: { name: 'ask_name', arguments: {} } });
    assert.deepEqual([r.status, r.body.error.code], [400, -32021]);
    assert.deepEqual(r.body.error.data.requiredCapabilities, { elicitation: {} });
    // No session header on the stateless wire.
    assert.equal(r.headers.get('mcp-session-id'), null);
  });

  test('logs only at the level the request asks for, none without one', async () => {
    const caps = { elicitation: {} };
    const call = (meta: Record<string, unknown>) => modernPost(server.httpUrl, { id: 1, method: 'tools/call', params: { name: 'ask_name', arguments: {}, _meta: envelope(meta, caps) } });
    const quiet = await call({});
    assert.equal(quiet.events.filter((e) => e.method === 'notifications/message').length, 0);
    const loud = await call({ 'io.modelcontextprotocol/logLevel': 'info' });
    assert.equal(loud.events.filter((e) => e.method === 'notifications/message').length, 1);
    const above = await call({ 'io.modelcontextprotocol/logLevel': 'warning' });
    assert.equal(above.events.filter((e) => e.method === 'notifications/message').length, 0);
    const bad = await call({ 'io.modelcontextprotocol/logLevel': 'loud' });
    assert.deepEqual([bad.status, bad.body.error.code], [400, -32602]);
  });

  test('discover and lists carry resultType, cache hints and serverInfo', async () => {
    const d = await modernPost(server.httpUrl, { id: 1, method: 'server/discover' });
    assert.equal(d.status, 200);
    assert.equal(d.contentType, 'application/json');
    const discover = d.body.result;
    assert.equal(discover.resultType, 'complete');
    assert.equal(discover.cacheScope, 'public');
    assert.equal(typeof discover.ttlMs, 'number');
    assert.equal(discover._meta['io.modelcontextprotocol/serverInfo'].name, 'realtime-mcp');
    assert.equal(discover.capabilities.resources.subscribe, true);
    const l = await modernPost(server.httpUrl, { id: 2, method: 'resources/read', params: { uri: 'realtime://nothing' } });
    assert.deepEqual([l.status, l.body.error.code, l.body.error.data.uri], [200, -32602, 'realtime://nothing']);
    const r = await modernPost(server.httpUrl, { id: 3, method: 'resources/read', params: { uri: OPERATIONS } });
    assert.deepEqual([r.body.result.resultType, r.body.result.ttlMs, r.body.result.cacheScope], ['complete', 0, 'private']);
  });
});

test('graceful shutdown ends a listen with its result', async () => {
  const server = await startServer({ tools: modernTestTools });
  const client = await connectV2(server.httpUrl, 'pinned');
  const sub = await client.listen({ resourceSubscriptions: [OPERATIONS] });
  await server.close();
  assert.equal(await sub.closed, 'graceful');
  await client.close().catch(() => {});
});

test('authorization: one 403 challenge naming every scope the call needs; no offline_access; requestState bound to the caller', async () => {
  const secret = randomSecret();
  const deploy = defineTool({ name: 'deploy', description: 'needs two scopes', inputSchema: Type.Object({}), scopes: ['deploy:write', 'deploy:approve', 'offline_access'], handler: () => 'deployed' });
  const server = await startServer({ config: { AUTH_MODE: 'jwt', JWT_SECRET: secret, REQUIRED_SCOPES: 'mcp:use' }, tools: [deploy, ...modernTestTools] });
  try {
    const audience = `${server.httpUrl}/mcp`;
    const token = (scope: string, sub = 'alice') => hsToken(secret, { audience, claims: { scope, sub } });
    const call = async (auth: string, name: string, extra: Record<string, unknown> = {}, caps: Record<string, unknown> = {}) =>
      modernPost(server.httpUrl, { id: 1, method: 'tools/call', params: { name, arguments: {}, ...extra, _meta: envelope({}, caps) } }, bearer(auth));
    const denied = await call(await token('mcp:use deploy:write'), 'deploy');
    assert.equal(denied.status, 403);
    const challenge = denied.headers.get('www-authenticate')!;
    assert.match(challenge, /error="insufficient_scope"/);
    assert.match(challenge, /scope="mcp:use deploy:write deploy:approve"/);
    assert.doesNotMatch(challenge, /offline_access/);
    const allowed = await call(await token('mcp:use deploy:write deploy:approve'), 'deploy');
    assert.equal(allowed.body.result.content[0].text, 'deployed');
    const prm = (await (await fetch(`${server.httpUrl}/.well-known/oauth-protected-resource/mcp`)).json()) as { scopes_supported?: string[] };
    assert.ok(prm.scopes_supported?.includes('deploy:approve'));
    assert.ok(!prm.scopes_supported?.includes('offline_access'));
    // A requestState made for alice is refused for bob.
    const caps = { elicitation: {} };
    const first = await call(await token('mcp:use'), 'ask_name', {}, caps);
    const retry = { inputResponses: { elicitation_create: { action: 'accept', content: { name: 'Eve' } } }, requestState: first.body.result.requestState };
    const bob = await call(await token('mcp:use', 'bob'), 'ask_name', retry, caps);
    assert.equal(bob.body.error.code, -32602);
    const alice = await call(await token('mcp:use'), 'ask_name', retry, caps);
    assert.equal(alice.body.result.content[0].text, 'Hello, Eve');
  } finally {
    await server.close();
  }
});
