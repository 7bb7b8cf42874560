// The WebSocket transport at the frame level, with a bare `ws` client: JSON-RPC errors, close codes,
// ping/pong, concurrency on one socket, heartbeat, cancellation forms, subprotocol and session header.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Type from 'typebox';
import { defineTool } from '../src/tools/define.js';
import { startServer, type TestServer } from './helpers/server.js';
import { openRaw, type RawClient } from './helpers/raw-ws.js';
import { waitUntil, within } from './helpers/wait.js';

const MAX_PAYLOAD_BYTES = 64 * 1024;

/** What the server-side tool saw, per request id. */
const seen = new Map<string, { aborted: boolean; reason: string; stopped: boolean }>();

/** Runs until its signal aborts, recording the abort; never reports progress. */
const waitForAbortTool = defineTool({
  name: 'wait_for_abort',
  description: 'Waits until aborted and records why',
  inputSchema: Type.Object({ tag: Type.String() }),
  async handler({ tag }, ctx) {
    const record = { aborted: false, reason: '', stopped: false };
    seen.set(tag, record);
    try {
      await new Promise<void>((_resolve, reject) => {
        ctx.signal.addEventListener('abort', () => {
          record.aborted = true;
          record.reason = String((ctx.signal.reason as Error)?.message ?? ctx.signal.reason);
          reject(ctx.signal.reason);
        });
      });
      return 'unreachable';
    } finally {
      record.stopped = true;
    }
  },
});

const rpcError = (id: unknown, code: number) => (m: any) => m.id === id && m.error?.code === code;

describe('WebSocket protocol with a raw ws client', () => {
  let server: TestServer;
  /** A well-behaved client connected through every test; it must be undisturbed by the others. */
  let bystander: RawClient;
  let bystanderClosed = false;

  before(async () => {
    server = await startServer({ config: { MAX_PAYLOAD_BYTES }, tools: [waitForAbortTool] });
    bystander = await openRaw(server.wsUrl);
    void bystander.closed.then(() => (bystanderClosed = true));
    await bystander.initialize();
  });
  after(async () => {
    bystander.close();
    await bystander.closed;
    await server.close();
  });

  /** Open a raw client, initialize it, and close it when the test ends. */
  async function connect(t: { after(fn: () => unknown): void }, options?: Parameters<typeof openRaw>[1]): Promise<RawClient> {
    const client = await openRaw(server.wsUrl, options);
    t.after(() => {
      client.ws.terminate();
      return client.closed;
    });
    await client.initialize();
    return client;
  }

  test('invalid JSON gets -32700 with id null and the socket stays open', async (t) => {
    const c = await connect(t);
    c.send('{"jsonrpc":"2.0","id":1,"method":"ping"');
    const err = await c.next();
    assert.equal(err.jsonrpc, '2.0');
    assert.equal(err.id, null);
    assert.equal(err.error.code, -32700);
    c.send({ jsonrpc: '2.0', id: 2, method: 'ping' });
    assert.deepEqual(await c.next(), { jsonrpc: '2.0', id: 2, result: {} });
  });

  test('valid JSON that is not JSON-RPC gets -32600, echoing the id when it was valid', async (t) => {
    const c = await connect(t);
    const cases: Array<[frame: string, expectedId: unknown]> = [
      ['[{"jsonrpc":"2.0","id":1,"method":"ping"}]', null], // batch
      ['42', null],
      ['"ping"', null],
      ['null', null],
      ['{"jsonrpc":"1.0","id":5,"method":"ping"}', 5], // wrong jsonrpc
      ['{"id":"no-version","method":"ping"}', 'no-version'], // jsonrpc missing
      ['{"jsonrpc":"2.0","id":6}', 6], // no method, no result
      ['{"jsonrpc":"2.0","id":7,"method":""}', 7], // empty method
      ['{"jsonrpc":"2.0","id":8,"method":"ping","params":[1]}', 8], // positional params
      ['{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}', null], // bad id type
      ['{"jsonrpc":"2.0","id":1.5,"method":"ping"}', null], // non-integer id
      ['{"jsonrpc":"2.0","id":null,"method":"ping"}', null], // MCP forbids null ids
    ];
    for (const [frame, expectedId] of cases) {
      c.send(frame);
      const m = await c.next();
      assert.equal(m.jsonrpc, '2.0', frame);
      assert.equal(m.error?.code, -32600, `${frame} → ${JSON.stringify(m)}`);
      assert.deepEqual(m.id, expectedId, frame);
      assert.equal(typeof m.error.message, 'string');
    }
    c.send({ jsonrpc: '2.0', id: 'after', method: 'ping' });
    assert.deepEqual(await c.next(), { jsonrpc: '2.0', id: 'after', result: {} });
  });

  test('unknown method gets -32601 with the id', async (t) => {
    const c = await connect(t);
    c.send({ jsonrpc: '2.0', id: 'u1', method: 'no/such/method' });
    const m = await c.next();
    assert.equal(m.id, 'u1');
    assert.equal(m.error.code, -32601);
    assert.match(m.error.message, /no\/such\/method/);
  });

  test('a binary frame closes the socket with 1003', async () => {
    const c = await openRaw(server.wsUrl);
    c.ws.send(Buffer.from('{"jsonrpc":"2.0","id":1,"method":"ping"}'), { binary: true });
    const { code } = await within(c.closed, 'the server closing the socket');
    assert.equal(code, 1003);
  });

  test('a frame over MAX_PAYLOAD_BYTES closes the socket with 1009', async () => {
    const c = await openRaw(server.wsUrl);
    const message = 'x'.repeat(MAX_PAYLOAD_BYTES);
    c.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message } } });
    const { code } = await within(c.closed, 'the server closing the socket');
    assert.equal(code, 1009);
  });

  test('a frame just under MAX_PAYLOAD_BYTES is accepted', async (t) => {
    const c = await connect(t);
    const envelope = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: '' } } });
    const message = 'y'.repeat(MAX_PAYLOAD_BYTES - envelope.length);
    c.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message } } });
    const m = await c.waitFor((x) => x.id === 1);
    assert.equal(m.result.content[0].text.length, message.length);
  });

  test('invalid UTF-8 in a text frame closes the socket with 1007', async () => {
    const c = await openRaw(server.wsUrl);
    // 0xC3 0x28 is an invalid two-byte sequence; `binary: false` sends the bytes as a text frame.
    c.ws.send(Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]), { binary: false });
    const { code } = await within(c.closed, 'the server closing the socket');
    assert.equal(code, 1007);
  });

  test('a ping notification gets a pong notification; a ping request gets {}', async (t) => {
    const c = await connect(t);
    c.send('{"jsonrpc":"2.0","method":"ping"}');
    assert.deepEqual(await c.next(), { jsonrpc: '2.0', method: 'pong' });
    c.send({ jsonrpc: '2.0', id: 'p', method: 'ping' });
    assert.deepEqual(await c.next(), { jsonrpc: '2.0', id: 'p', result: {} });
  });

  test('ping, tools/list and another call are answered while a long call runs on the same socket', async (t) => {
    const c = await connect(t);
    c.send({ jsonrpc: '2.0', id: 'long', method: 'tools/call', params: { name: 'process_batch', arguments: { count: 1000, delayMs: 1000 } } });
    c.send({ jsonrpc: '2.0', id: 'ping', method: 'ping' });
    c.send({ jsonrpc: '2.0', id: 'list', method: 'tools/list' });
    c.send({ jsonrpc: '2.0', id: 'echo', method: 'tools/call', params: { name: 'echo', arguments: { message: 'meanwhile' } } });
    const answers = new Map<string, any>();
    while (answers.size < 3) {
      const m = await c.next();
      assert.notEqual(m.id, 'long', 'the long call answered first');
      answers.set(m.id, m);
    }
    assert.deepEqual(answers.get('ping').result, {});
    assert.ok(answers.get('list').result.tools.some((x: any) => x.name === 'process_batch'));
    assert.deepEqual(answers.get('echo').result.content, [{ type: 'text', text: 'meanwhile' }]);
    assert.ok(!c.received.some((m) => m.id === 'long'), 'the long call should still be running');
  });

  test('closing the connection ends the session and aborts the calls in flight with a reason saying so', async () => {
    const c = await openRaw(server.wsUrl);
    await c.initialize();
    c.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'wait_for_abort', arguments: { tag: 'disconnect' } } });
    await waitUntil(() => seen.has('disconnect'), 'the call to start');
    assert.equal(seen.get('disconnect')!.aborted, false);
    c.ws.close(); // a close frame: the client means to end the session, so no resume window applies
    await c.closed;
    await waitUntil(() => seen.get('disconnect')!.stopped, 'the handler to stop');
    assert.equal(seen.get('disconnect')!.aborted, true);
    assert.match(seen.get('disconnect')!.reason, /closed the session/i);
  });

  test('a dropped connection (no close frame) aborts its calls once the resume window has passed', async (t) => {
    const short = await startServer({ tools: [waitForAbortTool], config: { RESUME_WINDOW_MS: 150 } });
    t.after(() => short.close());
    const c = await openRaw(short.wsUrl);
    await c.initialize();
    c.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'wait_for_abort', arguments: { tag: 'dropped' } } });
    await waitUntil(() => seen.has('dropped'), 'the call to start');
    c.ws.terminate();
    await c.closed;
    await waitUntil(() => seen.get('dropped')!.stopped, 'the handler to stop after the resume window');
    assert.equal(seen.get('dropped')!.aborted, true);
    assert.match(seen.get('dropped')!.reason, /resume window expired/i);
    assert.equal(short.app.mcp.sessions.size, 0, 'the session was freed');
  });

  test('the 101 response carries Mcp-Session-Id, different for each connection', async (t) => {
    const a = await connect(t);
    const b = await connect(t);
    const idA = a.upgrade.headers['mcp-session-id'];
    const idB = b.upgrade.headers['mcp-session-id'];
    assert.equal(typeof idA, 'string');
    assert.equal(typeof idB, 'string');
    assert.ok((idA as string).length >= 16, `session id too short: ${idA}`);
    assert.notEqual(idA, idB);
  });

  test('subprotocol: mcp selected when offered, none accepted, other offers never echoed', async (t) => {
    const offeredMcp = await connect(t, { protocols: ['mcp'] });
    assert.equal(offeredMcp.ws.protocol, 'mcp');
    const offeredNone = await connect(t, { protocols: [] });
    assert.equal(offeredNone.ws.protocol, '');
    assert.equal(offeredNone.upgrade.headers['sec-websocket-protocol'], undefined);
    const withToken = await connect(t, { protocols: ['bearer.abc', 'mcp'] });
    assert.equal(withToken.ws.protocol, 'mcp');
    assert.equal(withToken.upgrade.headers['sec-websocket-protocol'], 'mcp');
    for (const c of [offeredMcp, offeredNone, withToken]) {
      c.send({ jsonrpc: '2.0', id: 'p', method: 'ping' });
      assert.deepEqual((await c.next()).result, {});
    }
  });

  test('the cancel { requestId } request answers { cancelled: true } and the call ends as cancelled', async (t) => {
    const c = await connect(t);
    c.send({ jsonrpc: '2.0', id: 'job', method: 'tools/call', params: { name: 'process_batch', arguments: { count: 1000, delayMs: 1000 } } });
    c.send({ jsonrpc: '2.0', id: 'stop', method: 'cancel', params: { requestId: 'job' } });
    const ack = await c.waitFor((m) => m.id === 'stop');
    assert.deepEqual(ack.result, { cancelled: true });
    const ended = await c.waitFor((m) => m.id === 'job');
    assert.equal(ended.error, undefined);
    assert.match(ended.result.content[0].text, /cancel/i);
    // Cancelling what is no longer running says so.
    c.send({ jsonrpc: '2.0', id: 'again', method: 'cancel', params: { requestId: 'job' } });
    assert.equal((await c.waitFor((m) => m.id === 'again')).result.cancelled, false);
  });

  test('notifications/cancelled aborts the call and no response ever arrives for it', async (t) => {
    const c = await connect(t);
    c.send({ jsonrpc: '2.0', id: 'quiet', method: 'tools/call', params: { name: 'wait_for_abort', arguments: { tag: 'quiet' } } });
    await waitUntil(() => seen.has('quiet'), 'the call to start');
    c.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'quiet', reason: 'changed my mind' } });
    await waitUntil(() => seen.get('quiet')!.stopped, 'the handler to stop');
    assert.match(seen.get('quiet')!.reason, /changed my mind/);
    // Anything the server sent for the cancelled call would arrive before this ping's answer.
    c.send({ jsonrpc: '2.0', id: 'after', method: 'ping' });
    await c.waitFor((m) => m.id === 'after');
    assert.deepEqual(c.received.filter((m) => m.id === 'quiet'), []);
  });

  test('logging/setLevel rejects a bad level with -32602 and accepts a good one', async (t) => {
    const c = await connect(t);
    c.send({ jsonrpc: '2.0', id: 'bad', method: 'logging/setLevel', params: { level: 'loud' } });
    assert.ok(rpcError('bad', -32602)(await c.next()));
    c.send({ jsonrpc: '2.0', id: 'none', method: 'logging/setLevel', params: {} });
    assert.ok(rpcError('none', -32602)(await c.next()));
    c.send({ jsonrpc: '2.0', id: 'good', method: 'logging/setLevel', params: { level: 'warning' } });
    assert.deepEqual(await c.next(), { jsonrpc: '2.0', id: 'good', result: {} });
  });

  test('the bystander client was undisturbed by all of the above', async () => {
    assert.equal(bystanderClosed, false);
    bystander.send({ jsonrpc: '2.0', id: 'still-here', method: 'tools/call', params: { name: 'echo', arguments: { message: 'fine' } } });
    const m = await bystander.waitFor((x) => x.id === 'still-here');
    assert.deepEqual(m.result.content, [{ type: 'text', text: 'fine' }]);
    // It received its own two answers and nothing else.
    assert.deepEqual(bystander.received.map((x) => x.id), [1000, 'still-here']);
  });
});

describe('WebSocket heartbeat', () => {
  test('a client that answers no pings and sends nothing is terminated; a normal client stays open', async (t) => {
    // Short, but long enough that a busy machine does not delay the healthy client's pongs past a tick.
    const server = await startServer({ config: { HEARTBEAT_INTERVAL_MS: 200, RESUME_WINDOW_MS: 0 } }); // no resume: the dead session ends at once
    t.after(() => server.close());
    const healthy = await openRaw(server.wsUrl);
    t.after(() => {
      healthy.ws.terminate();
      return healthy.closed;
    });
    let pingsAfterSilentClosed = 0;
    let silentClosed = false;
    healthy.ws.on('ping', () => {
      if (silentClosed) pingsAfterSilentClosed++;
    });
    const silent = await openRaw(server.wsUrl, { autoPong: false });
    const { code } = await within(silent.closed, 'the heartbeat terminating the silent client');
    silentClosed = true;
    assert.equal(code, 1006, 'terminated without a close frame');
    // Several more heartbeat rounds pass; the healthy client answers them and stays open.
    await waitUntil(() => pingsAfterSilentClosed >= 3, 'three more heartbeat pings');
    assert.equal(healthy.ws.readyState, healthy.ws.OPEN);
    await healthy.initialize();
    healthy.send({ jsonrpc: '2.0', id: 'e', method: 'tools/call', params: { name: 'echo', arguments: { message: 'alive' } } });
    assert.deepEqual((await healthy.waitFor((m) => m.id === 'e')).result.content, [{ type: 'text', text: 'alive' }]);
    assert.equal(server.app.mcp.sessions.size, 1, 'the terminated session was cleaned up');
  });
});
