// Legacy SSE (/mcp/sse + /mcp/messages) and Streamable HTTP (/mcp) at the HTTP level: proxy headers,
// keepalive comments, JSON vs SSE answers, resume with Last-Event-ID (every missed event exactly once,
// in order; never another session's), and every HTTP error with its status and JSON-RPC body.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startServer, type TestServer } from './helpers/server.js';
import { openSse, messageOf, type SseConnection, type SseEvent } from './helpers/sse-client.js';
import { waitUntil } from './helpers/wait.js';

const INIT = { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw-http', version: '0' } };
const BOTH = 'application/json, text/event-stream';

let server: TestServer;
before(async () => {
  server = await startServer({ config: { SSE_KEEPALIVE_MS: 40 } });
});
after(() => server.close());

const rpc = (id: number | string, method: string, params?: object) => JSON.stringify({ jsonrpc: '2.0', id, method, ...(params && { params }) });
const note = (method: string) => JSON.stringify({ jsonrpc: '2.0', method });

/** POST with fetch; returns status, headers and the parsed JSON body (if any). */
async function post(path: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(server.httpUrl + path, { method: 'POST', headers: { 'content-type': 'application/json', accept: BOTH, ...headers }, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text && res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : undefined };
}

/** A legacy SSE session: the stream, its POST path, initialized. */
async function openLegacy(headers: Record<string, string> = {}): Promise<{ stream: SseConnection; postPath: string; sessionId: string }> {
  const stream = await openSse(`${server.httpUrl}/mcp/sse`, { headers: { accept: 'text/event-stream', ...headers } });
  const endpoint = await stream.waitFor((e) => e.event === 'endpoint');
  const postPath = endpoint.data;
  const sessionId = new URL(postPath, server.httpUrl).searchParams.get('sessionId')!;
  assert.equal((await post(postPath, rpc(1, 'initialize', INIT))).status, 202);
  await stream.waitFor((e) => e.data.includes('"id":1'));
  assert.equal((await post(postPath, note('notifications/initialized'))).status, 202);
  return { stream, postPath, sessionId };
}

/** A Streamable HTTP session id, initialized. */
async function openStreamable(): Promise<string> {
  const init = await post('/mcp', rpc(1, 'initialize', INIT));
  assert.equal(init.status, 200);
  const sessionId = init.headers.get('mcp-session-id')!;
  assert.ok(sessionId);
  assert.equal((await post('/mcp', note('notifications/initialized'), { 'mcp-session-id': sessionId })).status, 202);
  return sessionId;
}

const progressOf = (events: SseEvent[]) => events.map(messageOf).filter((m) => m?.method === 'notifications/progress').map((m) => m.params.progress as number);
const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const batchCall = (id: number, count: number) => rpc(id, 'tools/call', { name: 'process_batch', arguments: { count, delayMs: 5 }, _meta: { progressToken: `p${id}` } });

/** Resolves once the server-side call has reported progress beyond `value` (no timing guesses). */
async function serverProgressBeyond(sessionId: string, requestId: number, value: number): Promise<void> {
  await waitUntil(() => {
    const op = server.app.mcp.sessions.get(sessionId)?.operations.get(requestId);
    return op === undefined || (op.lastProgress ?? 0) > value;
  }, `call ${requestId} to report progress beyond ${value} on the server`, 10_000);
}

describe('SSE responses: headers and keepalive', () => {
  test('GET /mcp/sse sends proxy-safe headers and the endpoint event (with an id) at once', async () => {
    const { stream } = await openLegacy();
    try {
      assert.equal(stream.status, 200);
      assert.equal(stream.headers['content-type'], 'text/event-stream');
      assert.equal(stream.headers['cache-control'], 'no-cache, no-transform');
      assert.equal(stream.headers['x-accel-buffering'], 'no');
      assert.equal(stream.headers['connection'], 'keep-alive');
      const first = stream.events[0]!;
      assert.equal(first.event, 'endpoint');
      assert.match(first.data, /^\/mcp\/messages\?sessionId=[0-9a-f-]{36}$/);
      assert.ok(first.id, 'the endpoint event carries an id');
      assert.ok(stream.events.every((e) => e.id !== undefined), 'every event has an id');
    } finally {
      stream.destroy();
    }
  });

  test('an idle legacy stream and an idle Streamable GET stream get `: keepalive` comments', async () => {
    const { stream } = await openLegacy();
    const sessionId = await openStreamable();
    const get = await openSse(`${server.httpUrl}/mcp`, { headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId } });
    try {
      assert.equal(get.status, 200);
      assert.equal(get.headers['x-accel-buffering'], 'no');
      assert.equal(get.headers['cache-control'], 'no-cache, no-transform');
      assert.equal(get.headers['mcp-session-id'], sessionId);
      await stream.until(() => stream.comments.filter((c) => c === 'keepalive').length >= 2);
      await get.until(() => get.comments.filter((c) => c === 'keepalive').length >= 2);
      assert.match(get.raw, /\n: keepalive\n\n/);
    } finally {
      stream.destroy();
      get.destroy();
    }
  });
});

describe('Streamable HTTP: JSON or SSE per request', () => {
  test('quick answers come back as JSON; a call with progress streams SSE with a priming event first', async () => {
    const sessionId = await openStreamable();
    const list = await post('/mcp', rpc(2, 'tools/list'), { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' });
    assert.equal(list.status, 200);
    assert.match(list.headers.get('content-type')!, /^application\/json/);
    assert.equal(list.headers.get('mcp-session-id'), sessionId);
    assert.ok(list.json.result.tools.some((t: any) => t.name === 'echo'));

    const call = await openSse(`${server.httpUrl}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: BOTH, 'mcp-session-id': sessionId }, body: batchCall(3, 5) });
    await call.ended;
    assert.equal(call.headers['content-type'], 'text/event-stream');
    assert.equal(call.headers['x-accel-buffering'], 'no');
    assert.equal(call.events[0]!.data, '', 'priming event (an id, empty data) first');
    assert.ok(call.events.every((e) => e.id?.startsWith(`${sessionId}.`)), 'every event has an id of this session');
    assert.deepEqual(progressOf(call.events), range(5));
    const last = messageOf(call.events.at(-1)!);
    assert.equal(last.id, 3);
    assert.match(last.result.content[0].text, /Processed 5 items/);
  });
});

describe('resume with Last-Event-ID', () => {
  test('legacy SSE: a stream dropped mid-call and resumed gets every missed progress and the result exactly once', async () => {
    const count = 40;
    const { stream, postPath, sessionId } = await openLegacy();
    assert.equal((await post(postPath, batchCall(7, count))).status, 202);
    await stream.until(() => progressOf(stream.events).length >= 5);
    stream.destroy();
    const before = stream.events.filter((e) => e.event === 'message');
    const lastId = [...stream.events].reverse().find((e) => e.id !== undefined)!.id!;
    const seenBefore = progressOf(before);
    // Let the call run on while nobody listens, so there is something to miss.
    await serverProgressBeyond(sessionId, 7, seenBefore.at(-1)! + 5);

    const resumed = await openSse(`${server.httpUrl}/mcp/sse`, { headers: { accept: 'text/event-stream', 'last-event-id': lastId } });
    try {
      const result = await resumed.waitFor((e) => messageOf(e)?.id === 7);
      assert.equal(resumed.events[0]!.event, 'endpoint');
      assert.equal(resumed.events[0]!.id, undefined, 'the endpoint event of a resumed stream leaves Last-Event-ID alone');
      assert.ok(resumed.events[0]!.data.endsWith(`sessionId=${sessionId}`), 'same session');
      const seenAfter = progressOf(resumed.events);
      assert.ok(seenAfter.length > 0, 'something was missed and replayed');
      assert.deepEqual([...seenBefore, ...seenAfter], range(count), 'every progress exactly once, in order');
      assert.match(messageOf(result).result.content[0].text, new RegExp(`Processed ${count} items`));
      assert.equal(resumed.events.filter((e) => messageOf(e)?.id === 7).length, 1, 'the result exactly once');
      // The resumed stream is live: the session still answers.
      assert.equal((await post(postPath, rpc(8, 'ping'))).status, 202);
      await resumed.waitFor((e) => messageOf(e)?.id === 8);
    } finally {
      resumed.destroy();
    }
  });

  test('Streamable HTTP: a POST stream dropped mid-call resumes with GET + Last-Event-ID, then ends after the result', async () => {
    const count = 40;
    const sessionId = await openStreamable();
    const call = await openSse(`${server.httpUrl}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: BOTH, 'mcp-session-id': sessionId }, body: batchCall(9, count) });
    await call.until(() => progressOf(call.events).length >= 5);
    call.destroy();
    const seenBefore = progressOf(call.events);
    const lastId = call.events.at(-1)!.id!;
    await serverProgressBeyond(sessionId, 9, seenBefore.at(-1)! + 5);

    const resumed = await openSse(`${server.httpUrl}/mcp`, { headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId, 'last-event-id': lastId } });
    await resumed.ended;
    assert.equal(resumed.status, 200);
    const seenAfter = progressOf(resumed.events);
    assert.ok(seenAfter.length > 0, 'something was missed and replayed');
    assert.deepEqual([...seenBefore, ...seenAfter], range(count), 'every progress exactly once, in order');
    const results = resumed.events.map(messageOf).filter((m) => m?.id === 9);
    assert.equal(results.length, 1, 'the result exactly once');
    assert.match(results[0].result.content[0].text, new RegExp(`Processed ${count} items`));
  });

  test("another session's event id replays nothing of it", async () => {
    const a = await openStreamable();
    const b = await openStreamable();
    const callA = await openSse(`${server.httpUrl}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: BOTH, 'mcp-session-id': a }, body: batchCall(11, 10) });
    await callA.ended;
    const idOfA = callA.events[1]!.id!; // the first progress event of A's call
    assert.ok(idOfA.startsWith(a));

    // B presents A's id: B gets its own plain stream, with nothing of A's.
    const getB = await openSse(`${server.httpUrl}/mcp`, { headers: { accept: 'text/event-stream', 'mcp-session-id': b, 'last-event-id': idOfA } });
    // Legacy: a forged id naming no session of the caller opens a fresh session, replaying nothing.
    const forged = await openSse(`${server.httpUrl}/mcp/sse`, { headers: { accept: 'text/event-stream', 'last-event-id': `${randomUUID()}.g.1` } });
    try {
      await forged.waitFor((e) => e.event === 'endpoint');
      // A marker sent to every session after the streams opened: whatever was replayed arrived before it.
      server.app.mcp.broadcast('notifications/message', { level: 'info', data: 'marker' });
      await getB.waitFor((e) => e.data.includes('marker'));
      await forged.waitFor((e) => e.data.includes('marker'));
      assert.equal(getB.raw.includes('p11'), false, "no event of A's call reached B");
      assert.equal(getB.raw.includes(a), false, "no id of A's session reached B");
      assert.deepEqual(progressOf(forged.events), []);
      assert.equal(forged.events.filter((e) => e.event === 'message').length, 1, 'only the marker');
    } finally {
      getB.destroy();
      forged.destroy();
    }
  });
});

describe('one registry, one session manager', () => {
  test('a broadcast reaches a legacy SSE session and a Streamable HTTP GET stream', async () => {
    const { stream } = await openLegacy();
    const sessionId = await openStreamable();
    const get = await openSse(`${server.httpUrl}/mcp`, { headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId } });
    try {
      const counts = server.app.mcp.sessions.count().byTransport;
      assert.ok(counts.sse >= 1 && counts.streamable >= 1);
      const reached = server.app.mcp.broadcast('notifications/message', { level: 'warning', data: 'hello everyone' });
      assert.ok(reached >= 2);
      await stream.waitFor((e) => e.data.includes('hello everyone'));
      await get.waitFor((e) => e.data.includes('hello everyone'));
    } finally {
      stream.destroy();
      get.destroy();
    }
  });
});

describe('HTTP errors', () => {
  test('unknown session → 404 with a JSON-RPC error body, on every route', async () => {
    const legacy = await post(`/mcp/messages?sessionId=${randomUUID()}`, rpc(1, 'ping'));
    assert.equal(legacy.status, 404);
    assert.equal(legacy.json.error.code, -32004);
    assert.equal(legacy.json.id, null);
    const streamable = await post('/mcp', rpc(1, 'ping'), { 'mcp-session-id': randomUUID() });
    assert.equal(streamable.status, 404);
    assert.equal(streamable.json.error.code, -32004);
    const get = await fetch(`${server.httpUrl}/mcp`, { headers: { accept: 'text/event-stream', 'mcp-session-id': 'nope' } });
    assert.equal(get.status, 404);
    assert.equal((await get.json()).error.code, -32004);
    const del = await fetch(`${server.httpUrl}/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': 'nope' } });
    assert.equal(del.status, 404);
  });

  test('DELETE ends a Streamable session; later requests with its id → 404', async () => {
    const sessionId = await openStreamable();
    const del = await fetch(`${server.httpUrl}/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': sessionId } });
    assert.equal(del.status, 200);
    assert.equal(server.app.mcp.sessions.get(sessionId), undefined);
    assert.equal((await post('/mcp', rpc(2, 'ping'), { 'mcp-session-id': sessionId })).status, 404);
  });

  test('bodies: too large → 413, wrong content type → 415, bad JSON → 400 -32700, not JSON-RPC → 400 -32600', async () => {
    const { stream, postPath } = await openLegacy();
    const sessionId = await openStreamable();
    try {
      const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(4 * 1024 * 1024 + 10) } });
      for (const [path, headers] of [[postPath, {}], ['/mcp', { 'mcp-session-id': sessionId }]] as const) {
        const tooBig = await post(path, big, headers);
        assert.equal(tooBig.status, 413, path);
        assert.equal(tooBig.json.error.code, -32600);
        const text = await post(path, rpc(1, 'ping'), { ...headers, 'content-type': 'text/plain' });
        assert.equal(text.status, 415, path);
        assert.equal(text.json.error.code, -32600);
        const bad = await post(path, '{"jsonrpc":"2.0",', headers);
        assert.equal(bad.status, 400, path);
        assert.equal(bad.json.error.code, -32700);
        const notRpc = await post(path, '{"hello":"world"}', headers);
        assert.equal(notRpc.status, 400, path);
        assert.equal(notRpc.json.error.code, -32600);
        const batch = await post(path, `[${rpc(1, 'ping')}]`, headers);
        assert.equal(batch.status, 400, path);
        assert.equal(batch.json.error.code, -32600);
      }
    } finally {
      stream.destroy();
    }
  });

  test('Streamable: missing session id → 400, unsupported MCP-Protocol-Version → 400, bad Accept → 406, other methods → 405', async () => {
    const missing = await post('/mcp', rpc(1, 'tools/list'));
    assert.equal(missing.status, 400);
    assert.equal(missing.json.error.code, -32600);
    const sessionId = await openStreamable();
    const version = await post('/mcp', rpc(2, 'ping'), { 'mcp-session-id': sessionId, 'mcp-protocol-version': '1999-01-01' });
    assert.equal(version.status, 400);
    assert.match(version.json.error.message, /MCP-Protocol-Version/);
    const onlyJson = await post('/mcp', rpc(3, 'ping'), { 'mcp-session-id': sessionId, accept: 'application/json' });
    assert.equal(onlyJson.status, 406);
    const getJson = await fetch(`${server.httpUrl}/mcp`, { headers: { accept: 'application/json', 'mcp-session-id': sessionId } });
    assert.equal(getJson.status, 406);
    const put = await fetch(`${server.httpUrl}/mcp`, { method: 'PUT', body: '{}' });
    assert.equal(put.status, 405);
    assert.equal(put.headers.get('allow'), 'GET, POST, DELETE');
    // The session is unaffected by all of that.
    const ping = await post('/mcp', rpc(4, 'ping'), { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' });
    assert.equal(ping.status, 200);
    assert.deepEqual(ping.json, { jsonrpc: '2.0', id: 4, result: {} });
  });
});

describe('a small event buffer, and shutdown', () => {
  test('a result evicted while the client was away is reported as -32031, not silence', async () => {
    const small = await startServer({ config: { EVENT_BUFFER_EVENTS: 5 } });
    try {
      const init = await fetch(`${small.httpUrl}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: BOTH }, body: rpc(1, 'initialize', INIT) });
      const sessionId = init.headers.get('mcp-session-id')!;
      const call = await openSse(`${small.httpUrl}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: BOTH, 'mcp-session-id': sessionId }, body: batchCall(5, 30) });
      await call.until(() => progressOf(call.events).length >= 2);
      call.destroy();
      const lastId = call.events.at(-1)!.id!;
      // Wait for the call to finish while nobody listens (its response goes to the buffer).
      await waitUntil(() => !small.app.mcp.sessions.get(sessionId)?.operations.has(5), 'the call to finish while nobody listens', 10_000);
      // More traffic for the session than its buffer holds pushes the response out.
      for (let i = 0; i < 6; i++) small.app.mcp.broadcast({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: `filler ${i}` } } as never);
      const resumed = await openSse(`${small.httpUrl}/mcp`, { headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId, 'last-event-id': lastId } });
      await resumed.ended;
      const messages = resumed.events.map(messageOf).filter(Boolean);
      const answer = messages.find((m) => m.id === 5);
      assert.ok(answer, 'the resumed stream carries an answer for the request');
      assert.equal(answer.error?.code, -32031, JSON.stringify(answer));
    } finally {
      await small.close();
    }
  });

  test('shutdown sends the notice down open SSE streams and ends them', async () => {
    const s = await startServer();
    const stream = await openSse(`${s.httpUrl}/mcp/sse`, { headers: { accept: 'text/event-stream' } });
    await stream.waitFor((e) => e.event === 'endpoint');
    await s.close();
    await stream.ended;
    assert.ok(stream.events.some((e) => messageOf(e)?.params?.level === 'warning' && /shutting down/.test(messageOf(e).params.data)));
  });
});
