// Twins at the defaults. Integration tests lower limits and timeouts so they bite within a test's time
// (RESUME_WINDOW_MS 100, HEARTBEAT_INTERVAL_MS 200, SLOW_CLIENT_TIMEOUT_MS 200, EVENT_BUFFER_EVENTS 5, …);
// here each of those mechanisms runs at its default value, on fake timers or fake clocks, so a default
// that stopped reaching the code (or code that ignores it) fails a test too.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';
import Type from 'typebox';
import { DEFAULTS } from '../../src/defaults.js';
import { OperationRunner } from '../../src/operations/runner.js';
import { Outbox } from '../../src/outbox/outbox.js';
import { MemoryEventLog } from '../../src/outbox/memory-event-log.js';
import { SESSION_STREAM } from '../../src/outbox/event-log.js';
import { notificationMessage } from '../../src/outbox/messages.js';
import { McpCore } from '../../src/mcp-core.js';
import { defineTool } from '../../src/tools/define.js';
import { WebSocketSessionTransport } from '../../src/transports/websocket/session-transport.js';
import type { WebSocketConnection } from '../../src/transports/websocket/connection.js';
import { Heartbeat } from '../../src/transports/websocket/heartbeat.js';
import { SseKeepalive, type SseStream } from '../../src/transports/http/sse-stream.js';
import { FakeSink, gate, recordingSession, settle } from '../helpers/doubles.js';
import { registeredTool } from '../helpers/registered-tool.js';

describe('runner limits at their defaults', () => {
  test('MAX_CONCURRENT_PER_SESSION run, the next wait; MAX_QUEUED_PER_SESSION wait, the next is refused; no TOOL_TIMEOUT_MS timer', () => {
    const r = new OperationRunner();
    const { session, answers } = recordingSession();
    const hold = gate<string>();
    const tool = registeredTool('hold', () => hold.promise);
    const ops = Array.from({ length: DEFAULTS.MAX_CONCURRENT_PER_SESSION + DEFAULTS.MAX_QUEUED_PER_SESSION }, (_, i) => r.start(session, i, tool, {}, undefined)!);
    assert.equal(r.running, DEFAULTS.MAX_CONCURRENT_PER_SESSION);
    assert.equal(r.queued, DEFAULTS.MAX_QUEUED_PER_SESSION);
    assert.ok(ops.every((op) => op.timer === undefined), 'TOOL_TIMEOUT_MS 0: no timeout');
    assert.equal(r.start(session, 'one too many', tool, {}, undefined), undefined);
    assert.equal(answers('one too many')[0].error.code, -32030);
  });

  test('MAX_CONCURRENT_OPERATIONS run across sessions, the next waits', () => {
    const r = new OperationRunner();
    const tool = registeredTool('hold', () => new Promise(() => {}));
    for (let i = 0; i < DEFAULTS.MAX_CONCURRENT_OPERATIONS; i++) r.start(recordingSession(`s${i}`).session, 1, tool, {}, undefined);
    assert.equal(r.running, DEFAULTS.MAX_CONCURRENT_OPERATIONS);
    const next = r.start(recordingSession('late').session, 1, tool, {}, undefined)!;
    assert.equal(next.state, 'queued');
  });
});

describe('outbox and event log at their defaults', () => {
  test('SEND_HIGH_WATER_BYTES: congested only above it; SLOW_CLIENT_TIMEOUT_MS: dropped after it (fake timers)', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const box = new Outbox(new MemoryEventLog(), { ping: () => Promise.resolve() });
    const sink = new FakeSink();
    box.attach(SESSION_STREAM, sink);
    sink.bufferedAmount = DEFAULTS.SEND_HIGH_WATER_BYTES;
    box.push(notificationMessage('notifications/a'));
    assert.equal(box.congested, false, 'at the mark is not over it');
    sink.bufferedAmount = DEFAULTS.SEND_HIGH_WATER_BYTES + 1;
    box.push(notificationMessage('notifications/b'));
    assert.equal(box.congested, true);
    t.mock.timers.tick(DEFAULTS.SLOW_CLIENT_TIMEOUT_MS - 1);
    assert.equal(sink.droppedSlow, 0);
    t.mock.timers.tick(1);
    assert.equal(sink.droppedSlow, 1);
  });

  test('EVENT_BUFFER_EVENTS events are kept, the next evicts the oldest; EVENT_BUFFER_BYTES bounds their text', () => {
    const log = new MemoryEventLog();
    for (let i = 1; i <= DEFAULTS.EVENT_BUFFER_EVENTS; i++) log.append('g', `e${i}`);
    assert.equal(log.replay('g', 0).events.length, DEFAULTS.EVENT_BUFFER_EVENTS);
    log.append('g', 'one more');
    const { events } = log.replay('g', 0);
    assert.equal(events.length, DEFAULTS.EVENT_BUFFER_EVENTS);
    assert.equal(events[0]!.text, 'e2');
    const big = new MemoryEventLog();
    const chunk = 'x'.repeat(DEFAULTS.EVENT_BUFFER_BYTES / 4);
    for (let i = 0; i < 5; i++) big.append('g', chunk);
    assert.equal(big.replay('g', 0).events.length, 4, 'four quarters fit, the fifth pushes the first out');
  });
});

describe('WebSocket timers at their defaults (fake timers)', () => {
  test('RESUME_WINDOW_MS: a dropped session waits that long for its client, then ends', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const core = new McpCore({ identity: { name: 'defaults', version: '0' }, tools: [defineTool({ name: 'noop', description: 'noop', inputSchema: Type.Object({}), handler: () => 'ok' })] });
    t.after(() => core.live.close());
    const connection = Object.assign(new FakeSink({ needsOrderingBarrier: true }), {
      events: undefined as { onClose(code: number): void } | undefined,
      listen(events: { onClose(code: number): void } | undefined) {
        this.events = events;
      },
      close() {},
      closedByServer: undefined,
    });
    const session = core.createSession('ws', undefined);
    new WebSocketSessionTransport(session, core, { resumeWindowMs: DEFAULTS.RESUME_WINDOW_MS }, connection as unknown as WebSocketConnection);
    connection.events!.onClose(1006);
    t.mock.timers.tick(DEFAULTS.RESUME_WINDOW_MS - 1);
    assert.equal(session.closed, false);
    assert.equal(session.detached, true);
    t.mock.timers.tick(1);
    assert.equal(session.closed, true);
  });

  test('HEARTBEAT_INTERVAL_MS: a ping each interval; a socket that answered none by the next is terminated', (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const heartbeat = new Heartbeat(DEFAULTS.HEARTBEAT_INTERVAL_MS);
    t.after(() => heartbeat.stop());
    const socket = () => Object.assign(new EventEmitter(), { pings: 0, terminated: 0, ping() { this.pings++; }, terminate() { this.terminated++; } });
    const healthy = socket();
    const silent = socket();
    heartbeat.watch(healthy as unknown as WebSocket);
    heartbeat.watch(silent as unknown as WebSocket);
    t.mock.timers.tick(DEFAULTS.HEARTBEAT_INTERVAL_MS - 1);
    assert.equal(healthy.pings, 0);
    t.mock.timers.tick(1);
    assert.deepEqual([healthy.pings, silent.pings], [1, 1]);
    healthy.emit('pong');
    t.mock.timers.tick(DEFAULTS.HEARTBEAT_INTERVAL_MS);
    assert.deepEqual([healthy.terminated, silent.terminated], [0, 1]);
    assert.equal(healthy.pings, 2);
  });
});

test('SSE_KEEPALIVE_MS: every open stream gets a keepalive comment each interval (fake timers)', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const keepalive = new SseKeepalive(DEFAULTS.SSE_KEEPALIVE_MS);
  t.after(() => keepalive.stop());
  const comments: string[] = [];
  const stream = (name: string) => ({ comment: (text: string) => void comments.push(`${name}: ${text}`) }) as unknown as SseStream;
  const a = stream('a');
  keepalive.add(a);
  keepalive.add(stream('b'));
  t.mock.timers.tick(DEFAULTS.SSE_KEEPALIVE_MS - 1);
  assert.deepEqual(comments, []);
  t.mock.timers.tick(1);
  assert.deepEqual(comments, ['a: keepalive', 'b: keepalive']);
  keepalive.delete(a);
  t.mock.timers.tick(DEFAULTS.SSE_KEEPALIVE_MS);
  assert.deepEqual(comments.slice(2), ['b: keepalive']);
});

test('SHUTDOWN_GRACE_MS: calls in flight get that long, then -32010; new calls are refused meanwhile (fake timers)', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const core = new McpCore({ identity: { name: 'defaults', version: '0' }, tools: [defineTool({ name: 'hold', description: 'hold', inputSchema: Type.Object({}), handler: () => new Promise(() => {}) })] });
  t.after(() => core.live.close());
  const sink = new FakeSink();
  const session = core.createSession('ws', undefined);
  session.outbox.attach(SESSION_STREAM, sink);
  const call = (id: string) => core.receive(session, { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'hold', arguments: {} } });
  call('before');
  const done = core.shutdown(DEFAULTS.SHUTDOWN_GRACE_MS);
  call('during');
  await settle();
  const answerTo = (id: string) => sink.bodies().find((b) => b.id === id);
  assert.equal(answerTo('during').error.code, -32010);
  t.mock.timers.tick(DEFAULTS.SHUTDOWN_GRACE_MS - 1);
  await settle();
  assert.equal(answerTo('before'), undefined, 'still within the grace period');
  t.mock.timers.tick(1);
  await settle();
  assert.equal(answerTo('before').error.code, -32010);
  assert.match(answerTo('before').error.message, /aborted after the grace period/);
  t.mock.timers.tick(10); // the pause before closing transports
  await done;
  assert.equal(session.closed, true);
});
