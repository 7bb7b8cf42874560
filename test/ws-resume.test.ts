// A WebSocket session outlives a dropped connection: its calls keep running, and a client that comes
// back (same principal, session id, last event id = frames it received) gets everything it missed
// exactly once, then live traffic. Plus backpressure: a client that stops reading cannot make the
// server's memory grow, progress is coalesced, and the result still arrives.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import Type from 'typebox';
import { defineTool } from '../src/tools/define.js';
import { startServer } from './helpers/server.js';
import { openRaw, type RawClient } from './helpers/raw-ws.js';
import { hsToken, randomSecret, bearer } from './helpers/tokens.js';
import { waitUntil } from './helpers/wait.js';

const batchCall = (id: number | string, count: number, delayMs: number) => ({
  jsonrpc: '2.0', id, method: 'tools/call',
  params: { name: 'process_batch', arguments: { count, delayMs }, _meta: { progressToken: `p-${id}` } },
});

/** The progress values and final answer a client saw for one call, in arrival order. */
function callStory(messages: any[], id: number | string): Array<number | 'result' | 'error'> {
  return messages.flatMap((m): Array<number | 'result' | 'error'> => {
    if (m.method === 'notifications/progress' && m.params.progressToken === `p-${id}`) return [m.params.progress as number];
    if (m.id === id && 'result' in m) return ['result' as const];
    if (m.id === id && 'error' in m) return ['error' as const];
    return [];
  });
}


async function dropped(c: RawClient): Promise<void> {
  c.ws.terminate(); // no close frame: the server keeps the session for the resume window
  await c.closed;
}

describe('WebSocket resume after a dropped connection', () => {
  test('a client that drops mid-run and reconnects with Mcp-Session-Id + Last-Event-ID gets every missed frame once, then live traffic', async (t) => {
    const server = await startServer();
    t.after(() => server.close());
    const first = await openRaw(server.wsUrl);
    const sessionId = first.upgrade.headers['mcp-session-id'] as string;
    await first.initialize();
    first.send(batchCall(7, 60, 15));
    await first.waitFor((m) => m.method === 'notifications/progress' && m.params.progress >= 10);
    await dropped(first);
    const seenBefore = [...first.received];
    // The call keeps running while nobody listens; reconnect while it is still going.
    await waitUntil(() => (server.app.mcp.runner.all()[0]?.lastProgress ?? 0) >= 25, 'the call to advance while detached', 10_000);

    const second = await openRaw(server.wsUrl, { headers: { 'Mcp-Session-Id': sessionId, 'Last-Event-ID': String(seenBefore.length) } });
    t.after(() => second.close());
    assert.equal(second.upgrade.headers['mcp-session-id'], sessionId, 'the same session answers');
    await second.waitFor((m) => m.id === 7);
    // The full sequence over both connections: every progress value once, in order, then the result once.
    const story = [...callStory(seenBefore, 7), ...callStory(second.received, 7)];
    assert.deepEqual(story, [...Array.from({ length: 60 }, (_, i) => i + 1), 'result']);
    // Live traffic continues on the resumed socket.
    second.send({ jsonrpc: '2.0', id: 'after', method: 'ping' });
    assert.deepEqual((await second.waitFor((m) => m.id === 'after')).result, {});
  });

  test('every frame sent while the client was away is replayed in order, exactly once (full sequence)', async (t) => {
    const server = await startServer();
    t.after(() => server.close());
    const first = await openRaw(server.wsUrl);
    const sessionId = first.upgrade.headers['mcp-session-id'] as string;
    await first.initialize();
    // Two calls without progress tokens finish while the client is away: their results must come back.
    first.send({ jsonrpc: '2.0', id: 'a', method: 'tools/call', params: { name: 'process_batch', arguments: { count: 5, delayMs: 20 } } });
    first.send({ jsonrpc: '2.0', id: 'b', method: 'tools/call', params: { name: 'process_batch', arguments: { count: 8, delayMs: 20 } } });
    await waitUntil(() => server.app.mcp.runner.size === 2, 'both calls to start', 10_000);
    await dropped(first);
    const seenBefore = first.received.length;
    await waitUntil(() => server.app.mcp.runner.size === 0, 'both calls to finish while detached', 10_000);
    server.app.mcp.broadcast('notifications/message', { level: 'info', data: 'while you were away' });

    const second = await openRaw(server.wsUrl, { headers: { 'Mcp-Session-Id': sessionId, 'Last-Event-ID': String(seenBefore) } });
    t.after(() => second.close());
    await second.waitFor((m) => m.method === 'notifications/message');
    second.send({ jsonrpc: '2.0', id: 'z', method: 'ping' });
    await second.waitFor((m) => m.id === 'z');
    const ids = second.received.map((m) => m.id ?? m.method);
    assert.deepEqual(ids, ['a', 'b', 'notifications/message', 'z']);
  });

  test('the session/resume first message works for clients that cannot set upgrade headers', async (t) => {
    const server = await startServer();
    t.after(() => server.close());
    const first = await openRaw(server.wsUrl);
    const sessionId = first.upgrade.headers['mcp-session-id'] as string;
    await first.initialize();
    first.send(batchCall(3, 10, 10));
    await first.waitFor((m) => m.method === 'notifications/progress' && m.params.progress >= 2);
    await dropped(first);
    await waitUntil(() => server.app.mcp.runner.size === 0, 'the call to finish while detached', 10_000);

    const second = await openRaw(server.wsUrl);
    t.after(() => second.close());
    second.send({ jsonrpc: '2.0', id: 'resume', method: 'session/resume', params: { sessionId, lastEventId: first.received.length } });
    const answer = await second.waitFor((m) => m.id === 'resume');
    assert.equal(answer.result.sessionId, sessionId);
    assert.equal(answer.result.resumedAfter, first.received.length);
    const story = [...callStory(first.received, 3), ...callStory(second.received, 3)];
    assert.equal(story.at(-1), 'result');
    assert.equal(story.filter((v) => v === 'result').length, 1);
    assert.equal(second.received.at(-1).id, 'resume', 'the answer to session/resume comes after the replay');
    assert.equal(server.app.mcp.sessions.size, 1, 'the fresh session the second connection was given has ended');
  });

  test('after the resume window the session is gone: a clear 404 before any upgrade, and everything freed', async (t) => {
    const server = await startServer({ config: { RESUME_WINDOW_MS: 100 } });
    t.after(() => server.close());
    const first = await openRaw(server.wsUrl);
    const sessionId = first.upgrade.headers['mcp-session-id'] as string;
    await first.initialize();
    first.send(batchCall(1, 1000, 5));
    await first.waitFor((m) => m.method === 'notifications/progress');
    await dropped(first);
    await waitUntil(() => server.app.mcp.sessions.size === 0 && server.app.mcp.runner.size === 0, 'the window to pass and the session to be freed', 10_000);
    await assert.rejects(openRaw(server.wsUrl, { headers: { 'Mcp-Session-Id': sessionId, 'Last-Event-ID': '3' } }), (err: any) => {
      assert.equal(err.statusCode, 404);
      return true;
    });
    const res = await fetch(`${server.httpUrl}/mcp/ws`, { headers: { 'Mcp-Session-Id': sessionId, Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' } }).catch(() => undefined);
    if (res) {
      assert.equal(res.status, 404);
      assert.match((await res.json()).error.message, /Session not found.*resume window/);
    }
  });

  test('results that no longer fit in the event buffer are named one by one with -32031, never silence', async (t) => {
    const server = await startServer({ config: { EVENT_BUFFER_EVENTS: 6 } });
    t.after(() => server.close());
    const first = await openRaw(server.wsUrl);
    const sessionId = first.upgrade.headers['mcp-session-id'] as string;
    await first.initialize();
    const ids = Array.from({ length: 10 }, (_, i) => `c${i}`);
    for (const id of ids) first.send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'process_batch', arguments: { count: 3, delayMs: 10 } } });
    await waitUntil(() => server.app.mcp.runner.size === ids.length, 'the calls to be admitted', 10_000);
    await dropped(first);
    await waitUntil(() => server.app.mcp.runner.size === 0, 'the calls to finish while detached', 10_000);
    const second = await openRaw(server.wsUrl, { headers: { 'Mcp-Session-Id': sessionId, 'Last-Event-ID': String(first.received.length) } });
    t.after(() => second.close());
    second.send({ jsonrpc: '2.0', id: 'z', method: 'ping' });
    await second.waitFor((m) => m.id === 'z');
    for (const id of ids) {
      const answers = second.received.filter((m) => m.id === id);
      assert.equal(answers.length, 1, `${id} answered ${answers.length} times`);
    }
    const lost = second.received.filter((m) => m.error?.code === -32031);
    assert.ok(lost.length >= 4, `expected the evicted results to be reported, got ${lost.length}`);
    assert.match(lost[0].error.message, /lost/);
  });

  test('another principal cannot take a session over: 404, and the owner can still resume', async (t) => {
    const secret = randomSecret();
    const server = await startServer({ config: { AUTH_MODE: 'jwt', JWT_SECRET: secret } });
    t.after(() => server.close());
    const audience = `${server.httpUrl}/mcp`;
    const alice = await hsToken(secret, { audience, claims: { sub: 'alice' } });
    const mallory = await hsToken(secret, { audience, claims: { sub: 'mallory' } });
    const first = await openRaw(server.wsUrl, { headers: bearer(alice) });
    const sessionId = first.upgrade.headers['mcp-session-id'] as string;
    await first.initialize();
    await dropped(first);
    await assert.rejects(openRaw(server.wsUrl, { headers: { ...bearer(mallory), 'Mcp-Session-Id': sessionId, 'Last-Event-ID': '1' } }), (err: any) => err.statusCode === 404);
    // Nor through the first-message form.
    const sneaky = await openRaw(server.wsUrl, { headers: bearer(mallory) });
    t.after(() => sneaky.close());
    sneaky.send({ jsonrpc: '2.0', id: 1, method: 'session/resume', params: { sessionId, lastEventId: 1 } });
    assert.equal((await sneaky.waitFor((m) => m.id === 1)).error.code, -32004);
    const back = await openRaw(server.wsUrl, { headers: { ...bearer(alice), 'Mcp-Session-Id': sessionId, 'Last-Event-ID': String(first.received.length) } });
    t.after(() => back.close());
    back.send({ jsonrpc: '2.0', id: 2, method: 'ping' });
    assert.deepEqual((await back.waitFor((m) => m.id === 2)).result, {});
  });
});

/**
 * Emits progress as fast as it can and never calls ctx.checkpoint(): only coalescing keeps memory bounded.
 * Each notification is about 1.5 KB on the wire: the volume of a long run in few enough calls that the
 * test spends its time on backpressure, not on formatting a million progress messages.
 */
const FIREHOSE_PADDING = ' of a deliberately long message'.repeat(40);
/** Firehose runs that returned: the test waits for its own run to end, not for an idle runner. */
let firehoseRuns = 0;
const firehoseTool = defineTool({
  name: 'firehose',
  description: 'progress without backpressure',
  inputSchema: Type.Object({ count: Type.Integer() }),
  async handler({ count }, ctx) {
    for (let i = 1; i <= count; i++) {
      ctx.progress({ progress: i, total: count, message: `item ${i}${FIREHOSE_PADDING}` });
      if (i % 1000 === 0) await new Promise((r) => setImmediate(r)); // ~1.5 MB between turns
    }
    firehoseRuns++;
    return `sent ${count}`;
  },
});

describe('backpressure', () => {
  test('a client that stops reading: memory stays bounded, progress is coalesced, the result arrives when it reads again', async (t) => {
    const server = await startServer({ tools: [firehoseTool], config: { SEND_HIGH_WATER_BYTES: 256 * 1024, SLOW_CLIENT_TIMEOUT_MS: 60_000 } });
    t.after(() => server.close());
    const c = await openRaw(server.wsUrl);
    t.after(() => c.close());
    await c.initialize();
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    c.ws.pause(); // stop reading: the kernel buffers fill, then the server's own queue would
    const count = 200_000; // ~300 MB of notifications (200,000 × ~1.5 KB) if nothing were coalesced
    const runsBefore = firehoseRuns;
    c.send({ jsonrpc: '2.0', id: 'f', method: 'tools/call', params: { name: 'firehose', arguments: { count }, _meta: { progressToken: 'p-f' } } });
    // Its own run, not just an idle runner: right after the send the server has not even seen the call.
    await waitUntil(() => firehoseRuns === runsBefore + 1 && server.app.mcp.runner.size === 0, 'the tool to finish while the client is not reading', 60_000);
    const growthMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    // Bound: 64 MiB over the start (the high-water mark is 256 KiB; kernel socket buffers are not in RSS).
    assert.ok(growthMiB < 64, `RSS grew by ${growthMiB.toFixed(1)} MiB`);
    c.ws.resume();
    await c.waitFor((m) => m.id === 'f', 30_000);
    const progress = callStory(c.received, 'f').filter((v): v is number => typeof v === 'number');
    assert.ok(progress.length < count, 'progress was coalesced');
    assert.deepEqual(progress, [...progress].sort((a, b) => a - b), 'still in order');
    assert.equal(progress.at(-1), count, 'the newest value survives coalescing');
    assert.equal(c.received.at(-1).id, 'f', 'the result comes after every progress notification');
  });

  test('a client that stays over the mark past SLOW_CLIENT_TIMEOUT_MS is disconnected and can resume', async (t) => {
    const server = await startServer({ config: { SEND_HIGH_WATER_BYTES: 64 * 1024, SLOW_CLIENT_TIMEOUT_MS: 200 } });
    t.after(() => server.close());
    const c = await openRaw(server.wsUrl);
    const sessionId = c.upgrade.headers['mcp-session-id'] as string;
    await c.initialize();
    const framesBeforePause = c.received.length;
    c.ws.pause();
    // process_batch calls ctx.checkpoint(): it waits while the client is slow, until the client is dropped.
    c.send(batchCall('f', 300_000, 0));
    const session = () => server.app.mcp.sessions.get(sessionId);
    await waitUntil(() => session()?.detached === true, 'the slow client to be disconnected', 10_000);
    assert.ok(session(), 'the session survives for the resume window');
    c.ws.terminate();
    await waitUntil(() => server.app.mcp.runner.size === 0, 'the call to finish', 10_000);
    // Frames the paused client never read count as not received: resume from what it had read.
    const back = await openRaw(server.wsUrl, { headers: { 'Mcp-Session-Id': sessionId, 'Last-Event-ID': String(framesBeforePause) } });
    t.after(() => back.close());
    const result = await back.waitFor((m) => m.id === 'f');
    assert.match(result.result.content[0].text, /Processed 300000 items/);
    const progress = callStory(back.received, 'f').filter((v): v is number => typeof v === 'number');
    assert.equal(progress.at(-1), 300_000, 'the newest progress is delivered before the result');
  });
});
