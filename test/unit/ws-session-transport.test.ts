// WebSocketSessionTransport and the session/resume handover with a fake connection (the shape of
// WebSocketConnection: a sink that also delivers text frames and the close) and a real McpCore: frames
// in, the close codes that end a session or keep it for the resume window (fake timers), resume on a new
// connection, handOver and its refusals, the in-socket message limit. The real `ws` socket is covered
// end to end by test/ws-protocol.test.ts and test/ws-resume.test.ts.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import Type from 'typebox';
import { McpCore } from '../../src/mcp-core.js';
import { WebSocketSessionTransport, type WebSocketSessionOptions } from '../../src/transports/websocket/session-transport.js';
import { parseLastEventId } from '../../src/transports/websocket/resume.js';
import type { WebSocketConnection, WebSocketConnectionEvents } from '../../src/transports/websocket/connection.js';
import { MessageRateLimiter } from '../../src/limits/message-rate-limiter.js';
import { defineTool } from '../../src/tools/define.js';
import type { OperationAbort } from '../../src/operations/operation.js';
import { FakeSink, settle } from '../helpers/doubles.js';

/** A WebSocketConnection stand-in: records frames written, lets the test send text and close it. */
class FakeConnection extends FakeSink {
  events: WebSocketConnectionEvents | undefined;
  closes: Array<{ code: number; reason: string }> = [];
  closedByServer: string | undefined;

  constructor() {
    super({ needsOrderingBarrier: true, barrierPing: () => Promise.resolve() });
  }

  redeliver(texts: string[]): void {
    for (const text of texts) {
      if (!this.open) return;
      this.events?.onText(text);
    }
  }

  /** Open until the server closes it. */
  get open(): boolean {
    return this.closes.length === 0;
  }

  listen(events: WebSocketConnectionEvents | undefined): void {
    this.events = events;
  }

  close(code: number, reason: string): void {
    this.closedByServer ??= reason;
    this.closes.push({ code, reason });
  }

  /** A text frame from the client. */
  text(value: unknown): void {
    this.events?.onText(typeof value === 'string' ? value : JSON.stringify(value));
  }

  /** The socket closed with this code (what `ws` reports). */
  closed(code: number): void {
    this.events?.onClose(code);
  }

  get asConnection(): WebSocketConnection {
    return this as unknown as WebSocketConnection;
  }
}

function setup(t: { after(fn: () => unknown): void }) {
  const aborted = new Map<string | number, OperationAbort>();
  const core = new McpCore({
    identity: { name: 'ws-unit', version: '0' },
    tools: [defineTool({
      name: 'forever',
      description: 'runs until aborted',
      inputSchema: Type.Object({}),
      handler: (_args, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => {
        aborted.set(ctx.requestId, ctx.signal.reason as OperationAbort);
        reject(ctx.signal.reason);
      })),
    })],
  });
  t.after(() => core.live.close());
  const transports = new Map<string, WebSocketSessionTransport>();
  const open = (options: Partial<WebSocketSessionOptions> = {}) => {
    const connection = new FakeConnection();
    const session = core.createSession('ws', undefined);
    const transport = new WebSocketSessionTransport(session, core, {
      resumeWindowMs: 1000,
      findResumable: async (id: string) => transports.get(id),
      ...options,
    }, connection.asConnection);
    transports.set(session.id, transport);
    return { connection, session, transport };
  };
  return { core, open, aborted };
}

const call = (id: string | number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'forever', arguments: {} } });

describe('frames and closes', () => {
  test('text frames are dispatched; answers are written to the connection; bad JSON gets -32700', (t) => {
    const { open } = setup(t);
    const { connection } = open();
    connection.text({ jsonrpc: '2.0', id: 1, method: 'ping' });
    connection.text('not json');
    assert.deepEqual(connection.bodies()[0], { jsonrpc: '2.0', id: 1, result: {} });
    assert.equal(connection.bodies()[1].error.code, -32700);
    assert.equal(connection.bodies()[1].id, null);
  });

  for (const code of [1000, 1005]) {
    test(`a close with ${code} (the client means it) ends the session and aborts its calls`, (t) => {
      const { core, open, aborted } = setup(t);
      const { connection, session } = open();
      connection.text(call('c'));
      assert.equal(core.runner.size, 1);
      connection.closed(code);
      assert.equal(session.closed, true);
      assert.equal(core.sessions.size, 0);
      assert.equal(aborted.get('c')!.kind, 'disconnected');
      assert.equal(aborted.get('c')!.message, 'client closed the session');
    });
  }

  test('a dropped connection (1006) keeps the session and its calls for the resume window, then ends it (fake timers)', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { core, open, aborted } = setup(t);
    const { connection, session } = open({ resumeWindowMs: 1000 });
    connection.text(call('c'));
    connection.closed(1006);
    assert.equal(session.detached, true);
    assert.equal(session.closed, false);
    assert.equal(core.runner.size, 1, 'the call keeps running');
    assert.equal(core.sessions.count().detached, 1);
    t.mock.timers.tick(999);
    assert.equal(session.closed, false);
    t.mock.timers.tick(1);
    assert.equal(session.closed, true);
    assert.equal(session.detached, false);
    assert.equal(aborted.get('c')!.message, 'client gone: resume window expired');
  });

  test('with resumeWindowMs 0 a dropped connection ends the session at once, with the server\'s reason when it dropped it', (t) => {
    const { open, aborted } = setup(t);
    const { connection, session } = open({ resumeWindowMs: 0 });
    connection.text(call('c'));
    connection.closedByServer = 'client too slow';
    connection.closed(1006);
    assert.equal(session.closed, true);
    assert.equal(aborted.get('c')!.message, 'client too slow');
  });

  test('close() closes with 1000 and the close ends the session; shutdown() with 1001', (t) => {
    const { open } = setup(t);
    const a = open();
    void a.transport.close('bye');
    assert.deepEqual(a.connection.closes, [{ code: 1000, reason: 'bye' }]);
    assert.equal(a.session.closed, false, 'the session ends when the close completes');
    a.connection.closed(1006); // even without the client's close frame: the server meant to end it
    assert.equal(a.session.closed, true);
    const b = open();
    void b.transport.shutdown('server shutting down');
    assert.deepEqual(b.connection.closes, [{ code: 1001, reason: 'server shutting down' }]);
  });

  test('close() of a detached session ends it at once', async (t) => {
    const { open } = setup(t);
    const { connection, session, transport } = open();
    connection.closed(1006);
    assert.equal(session.detached, true);
    await transport.close('admin');
    assert.equal(session.closed, true);
  });
});

describe('resume on a new connection', () => {
  test('attach replays what came after the last frame, cancels the window, and live traffic goes to the new connection (fake timers)', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { core, open } = setup(t);
    const { connection, session, transport } = open({ resumeWindowMs: 1000 });
    connection.text({ jsonrpc: '2.0', id: 1, method: 'ping' }); // frame 1
    connection.closed(1006);
    core.broadcast('notifications/one');
    core.broadcast('notifications/two');
    const back = new FakeConnection();
    transport.attach(back.asConnection, 1);
    assert.deepEqual(back.bodies().map((b) => b.method), ['notifications/one', 'notifications/two']);
    assert.deepEqual(back.positions(), ['g:2', 'g:3']);
    assert.equal(session.detached, false);
    t.mock.timers.tick(5000);
    assert.equal(session.closed, false, 'the resume window no longer runs');
    back.text({ jsonrpc: '2.0', id: 2, method: 'ping' });
    assert.deepEqual(back.bodies().at(-1), { jsonrpc: '2.0', id: 2, result: {} });
  });

  test('a resume while the old connection is still open closes it with 1000; its later close changes nothing', (t) => {
    const { open } = setup(t);
    const { connection, session, transport } = open();
    const back = new FakeConnection();
    transport.attach(back.asConnection, 0);
    assert.deepEqual(connection.closes, [{ code: 1000, reason: 'session resumed on another connection' }]);
    assert.equal(connection.events, undefined, 'the old connection no longer feeds the session');
    connection.closed(1000);
    assert.equal(session.closed, false);
  });

  test('a resumed connection cannot hand itself over again with session/resume', (t) => {
    const { open } = setup(t);
    const other = open();
    other.connection.closed(1006);
    const { connection, transport } = open();
    connection.closed(1006);
    const back = new FakeConnection();
    transport.attach(back.asConnection, 0);
    back.text({ jsonrpc: '2.0', id: 'r', method: 'session/resume', params: { sessionId: other.session.id, lastEventId: 0 } });
    assert.equal(back.bodies().at(-1).error.code, -32601);
    assert.equal(other.session.detached, true, 'the other session was not taken over');
  });

  test('a connection attached to an ended session is refused with 1008', (t) => {
    const { open } = setup(t);
    const { connection, transport } = open();
    connection.closed(1000);
    const late = new FakeConnection();
    transport.attach(late.asConnection, 0);
    assert.deepEqual(late.closes, [{ code: 1008, reason: 'session not found: it ended; start a new session' }]);
  });
});

describe('session/resume as the first message (handOver)', () => {
  test('moves the connection to the target session, replays, then answers; the fresh session ends', async (t) => {
    const { core, open } = setup(t);
    const target = open();
    target.connection.text({ jsonrpc: '2.0', id: 1, method: 'ping' }); // frame 1
    target.connection.closed(1006);
    core.broadcast('notifications/missed');
    const fresh = open();
    assert.equal(core.sessions.size, 2);
    fresh.connection.text({ jsonrpc: '2.0', id: 'r', method: 'session/resume', params: { sessionId: target.session.id, lastEventId: 1 } });
    await settle();
    assert.deepEqual(fresh.connection.bodies(), [
      { jsonrpc: '2.0', method: 'notifications/missed' },
      { jsonrpc: '2.0', id: 'r', result: { sessionId: target.session.id, resumedAfter: 1, missed: 1 } },
    ]);
    assert.equal(fresh.session.closed, true);
    assert.equal(core.sessions.size, 1);
    assert.equal(fresh.connection.closes.length, 0, 'the connection is kept, not closed');
    assert.equal(target.session.detached, false);
    fresh.connection.text({ jsonrpc: '2.0', id: 2, method: 'ping' });
    assert.deepEqual(fresh.connection.bodies().at(-1), { jsonrpc: '2.0', id: 2, result: {} }, 'now serving the target session');
  });

  test('the full event id form of lastEventId is accepted', async (t) => {
    const { open } = setup(t);
    const target = open();
    target.connection.text({ jsonrpc: '2.0', id: 1, method: 'ping' });
    target.connection.closed(1006);
    const fresh = open();
    fresh.connection.text({ jsonrpc: '2.0', id: 'r', method: 'session/resume', params: { sessionId: target.session.id, lastEventId: `${target.session.id}.g.1` } });
    await settled(); // the lookup of the target session is asynchronous (it may be on another node)
    assert.deepEqual(fresh.connection.bodies().at(-1).result, { sessionId: target.session.id, resumedAfter: 1, missed: 0 });
  });

  test('an unknown session, a lastEventId it never sent, or itself: -32004 on the fresh session, which goes on', async (t) => {
    const { open } = setup(t);
    const target = open();
    target.connection.closed(1006);
    const cases: Array<[string, Record<string, unknown>]> = [
      ['unknown', { sessionId: 'no-such-session', lastEventId: 0 }],
      ['too far', { sessionId: target.session.id, lastEventId: 99 }],
      ['garbage', { sessionId: target.session.id, lastEventId: 'x.y' }],
      ['no id', {}],
    ];
    for (const [what, params] of cases) {
      const fresh = open();
      fresh.connection.text({ jsonrpc: '2.0', id: 'r', method: 'session/resume', params });
      await settled();
      const [answer] = fresh.connection.bodies();
      assert.equal(answer.error?.code, -32004, what);
      assert.match(answer.error.message, /^Session not found/, what);
      assert.equal(fresh.session.closed, false, what);
      fresh.connection.text({ jsonrpc: '2.0', id: 'p', method: 'ping' });
      assert.deepEqual(fresh.connection.bodies().at(-1).result, {}, what);
    }
    const self = open();
    self.connection.text({ jsonrpc: '2.0', id: 'r', method: 'session/resume', params: { sessionId: self.session.id, lastEventId: 0 } });
    assert.equal(self.connection.bodies()[0].error.code, -32004, 'a session cannot resume itself');
  });

  test('session/resume is only a handover as the first message; later it is an unknown method', (t) => {
    const { open } = setup(t);
    const target = open();
    target.connection.closed(1006);
    const fresh = open();
    fresh.connection.text({ jsonrpc: '2.0', id: 1, method: 'ping' });
    fresh.connection.text({ jsonrpc: '2.0', id: 'r', method: 'session/resume', params: { sessionId: target.session.id, lastEventId: 0 } });
    assert.equal(fresh.connection.bodies()[1].error.code, -32601);
    assert.equal(target.session.detached, true);
  });
});

describe('the in-socket message limit', () => {
  test('over budget a request gets -32029 with retryAfterMs, a notification is dropped; too many strikes close with 1008 and end the session', (t) => {
    const { open } = setup(t);
    const limiter = new MessageRateLimiter({ messagesPerSecond: 1, burst: 2, strikes: 2, now: () => 0 }); // a clock that stands still
    const { connection, session } = open({ messageLimit: limiter });
    connection.text({ jsonrpc: '2.0', id: 1, method: 'ping' });
    connection.text({ jsonrpc: '2.0', id: 2, method: 'ping' });
    connection.text({ jsonrpc: '2.0', id: 3, method: 'ping' }); // strike 1
    connection.text({ jsonrpc: '2.0', method: 'notifications/initialized' }); // strike 2: dropped
    assert.equal(session.initialized, false);
    const refused = connection.bodies()[2];
    assert.equal(refused.id, 3);
    assert.equal(refused.error.code, -32029);
    assert.equal(refused.error.data.retryAfterMs, 1000);
    assert.match(refused.error.message, /retry in 1000 ms/);
    assert.equal(connection.writes.length, 3);
    connection.text({ jsonrpc: '2.0', id: 4, method: 'ping' }); // strike 3 > 2
    assert.deepEqual(connection.closes, [{ code: 1008, reason: 'message rate limit exceeded repeatedly' }]);
    connection.closed(1006);
    assert.equal(session.closed, true, 'a close the server decided ends the session, whatever the code');
  });
});

describe('parseLastEventId', () => {
  test('0 for none; a frame number up to the last one sent; this session\'s own full id; nothing else', (t) => {
    const { open } = setup(t);
    const { connection, session } = open();
    connection.text({ jsonrpc: '2.0', id: 1, method: 'ping' });
    connection.text({ jsonrpc: '2.0', id: 2, method: 'ping' });
    assert.equal(parseLastEventId(undefined, session), 0);
    assert.equal(parseLastEventId('', session), 0);
    assert.equal(parseLastEventId('2', session), 2);
    assert.equal(parseLastEventId('3', session), undefined, 'a frame never sent');
    assert.equal(parseLastEventId(`${session.id}.g.1`, session), 1);
    assert.equal(parseLastEventId(`other.g.1`, session), undefined, 'another session\'s id');
    assert.equal(parseLastEventId(`${session.id}.1.1`, session), undefined, 'a request stream');
    assert.equal(parseLastEventId('-1', session), undefined);
    assert.equal(parseLastEventId('1.5', session), undefined);
  });
});

/** Let pending promise callbacks (an asynchronous session lookup) run. */
function settled(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
