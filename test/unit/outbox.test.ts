// The per-session Outbox with fake sinks: routing, numbering, replay (sync and async logs), lost
// results, completed request streams, backpressure (fake timers for the slow-client timeout), the
// ordering barrier, and results JSON cannot encode.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Outbox, type OutboxOptions } from '../../src/outbox/outbox.js';
import { MemoryEventLog } from '../../src/outbox/memory-event-log.js';
import { SESSION_STREAM, type EventLog } from '../../src/outbox/event-log.js';
import { errorMessage, logMessage, notificationMessage, progressMessage, requestMessage, resultMessage } from '../../src/outbox/messages.js';
import { errorResponse } from '../../src/jsonrpc.js';
import { AsyncEventLog, FakeSink, gate, settle, type Gate } from '../helpers/doubles.js';

const G = SESSION_STREAM;
const progress = (id: string | number, n: number) => progressMessage(id, { progressToken: `p-${id}`, progress: n });
const result = (id: string | number, text = `result ${id}`) => resultMessage(id, { content: [{ type: 'text', text }] });
const note = (text: string) => notificationMessage('notifications/message', { level: 'info', data: text });
const callLog = (id: string | number, text: string) => logMessage({ level: 'info', data: text }, id);

/** An outbox whose barrier pings are answered (or not) by the test. */
function outbox(log: EventLog = new MemoryEventLog(), options: Partial<OutboxOptions> = {}) {
  const pings: Array<Gate<unknown>> = [];
  const box = new Outbox(log, {
    ping: () => {
      const g = gate<unknown>();
      pings.push(g);
      return g.promise;
    },
    ...options,
  });
  return { box, pings };
}

/** A compact view of what a sink got: `id` for answers, `method:progress` or `method:data` for the rest. */
function story(sink: FakeSink): string[] {
  return sink.bodies().map((b) => {
    if (b.method === 'notifications/progress') return `progress ${b.params.progressToken.slice(2)}=${b.params.progress}`;
    if (b.method === 'notifications/message') return `log ${b.params.data}`;
    if (b.method !== undefined && b.id !== undefined) return `request ${b.method}`;
    if (b.method !== undefined) return b.method;
    return b.error ? `error ${b.id} ${b.error.code}` : `result ${b.id}`;
  });
}

describe('routing and numbering', () => {
  test('without request streams everything goes to the session stream, numbered 1, 2, 3', () => {
    const { box } = outbox();
    const sink = new FakeSink();
    box.attach(G, sink);
    box.push(progress(1, 1));
    box.push(note('hello'));
    box.push(result(1));
    assert.deepEqual(sink.positions(), ['g:1', 'g:2', 'g:3']);
    assert.equal(box.lastSeq(G), 3);
    assert.deepEqual(sink.writes.map((w) => w.message?.kind), ['progress', 'notification', 'result'], 'the typed message goes with the text');
  });

  test('a request stream gets that request\'s messages, numbered on their own, and ends after its response', () => {
    const { box } = outbox();
    const session = new FakeSink();
    const post = new FakeSink();
    box.attach(G, session);
    const stream = box.openRequestStream(5);
    assert.equal(stream, '1');
    assert.equal(box.openRequestStream(6), '2', 'each request stream has its own name');
    box.attach(stream, post);
    box.push(progress(5, 1));
    box.push(callLog(5, 'about 5'));
    box.push(note('for everyone'));
    box.push(progress(7, 1)); // a request without a stream of its own
    box.push(requestMessage('s1', 'sampling/createMessage', {}, 5));
    box.push(result(5));
    assert.deepEqual(story(post), ['progress 5=1', 'log about 5', 'request sampling/createMessage', 'result 5']);
    assert.deepEqual(post.positions(), ['1:1', '1:2', '1:3', '1:4']);
    assert.deepEqual(story(session), ['log for everyone', 'progress 7=1']);
    assert.deepEqual(session.positions(), ['g:1', 'g:2']);
    assert.equal(post.ended, 1, 'the stream is complete after the response');
    assert.equal(box.hasRequestStream(5), false);
    assert.equal(box.hasRequestStream(6), true);
    box.push(callLog(5, 'late'));
    assert.deepEqual(story(session).at(-1), 'log late', 'after its response, messages about the request go to the session stream');
    assert.equal(post.writes.length, 4);
  });

  test('an answer a sink writes whole (a POST answered with JSON, no event id) is not recorded; one after progress is', () => {
    const log = new MemoryEventLog();
    const { box } = outbox(log);
    /** Like RequestSink: undecided until something is written; only a first response goes out whole. */
    class WholeSink extends FakeSink {
      decided = false;
      writesWhole(): boolean {
        return !this.decided;
      }
      override write(stream: string, seq: number, text: string, message: Parameters<FakeSink['write']>[3]): void {
        this.decided = true;
        super.write(stream, seq, text, message);
      }
    }
    const quick = new WholeSink();
    const streamA = box.openRequestStream(1);
    box.attach(streamA, quick);
    box.push(result(1));
    assert.deepEqual(story(quick), ['result 1']);
    assert.equal(quick.ended, 1, 'the stream is complete');
    assert.equal(log.lastSeq(streamA), 0, 'nothing was recorded: no client can ask for it again');
    assert.deepEqual(log.replay(streamA, 0).events, []);
    assert.equal(box.hasRequestStream(1), false, 'the id may be used again');

    const slow = new WholeSink();
    const streamB = box.openRequestStream(2);
    box.attach(streamB, slow);
    box.push(progress(2, 1));
    box.push(result(2));
    assert.deepEqual(slow.positions(), [`${streamB}:1`, `${streamB}:2`], 'a streamed answer carries event ids');
    assert.deepEqual(log.replay(streamB, 1).events.map((e) => e.seq), [2], 'and is recorded for a resume');
  });

  test('pushes after close are ignored, and the log is closed', () => {
    const log = new AsyncEventLog('at-call');
    const { box } = outbox(log);
    const sink = new FakeSink();
    box.attach(G, sink);
    box.close();
    box.push(note('gone'));
    assert.equal(sink.writes.length, 0);
    assert.equal(log.closed, true);
    assert.equal(box.connected, false);
  });
});

describe('replay', () => {
  test('attaching with a last seq replays what came after it, then live messages follow', () => {
    const { box } = outbox();
    for (const t of ['a', 'b', 'c']) box.push(note(t));
    const sink = new FakeSink();
    box.attach(G, sink, 1);
    assert.deepEqual(story(sink), ['log b', 'log c']);
    assert.deepEqual(sink.positions(), ['g:2', 'g:3']);
    assert.equal(sink.writes[0]!.message, undefined, 'replayed events have no typed message');
    box.push(note('d'));
    assert.deepEqual(sink.positions(), ['g:2', 'g:3', 'g:4']);
  });

  test('a fresh session-stream sink without a last seq gets only what no sink received yet', () => {
    const { box } = outbox();
    const first = new FakeSink();
    box.attach(G, first);
    box.push(note('seen'));
    box.detach(first);
    box.push(note('missed 1'));
    box.push(note('missed 2'));
    const second = new FakeSink();
    box.attach(G, second);
    assert.deepEqual(story(second), ['log missed 1', 'log missed 2']);
  });

  test('a second sink on the same stream replaces the first, which is ended', () => {
    const { box } = outbox();
    const first = new FakeSink();
    const second = new FakeSink();
    box.attach(G, first);
    box.attach(G, second, 0);
    box.push(note('x'));
    assert.equal(first.ended, 1);
    assert.equal(first.writes.length, 0);
    assert.deepEqual(story(second), ['log x']);
  });

  for (const snapshot of ['at-call', 'at-resolve'] as const) {
    test(`an async log (snapshot ${snapshot}): live messages that arrive during the replay are delivered after it, exactly once, in order`, async () => {
      const log = new AsyncEventLog(snapshot);
      const { box } = outbox(log);
      box.push(note('old 1'));
      box.push(note('old 2'));
      const sink = new FakeSink();
      box.attach(G, sink, 0);
      assert.equal(log.pending.length, 1, 'the replay is under way');
      box.push(note('live 1'));
      box.push(note('live 2'));
      assert.equal(sink.writes.length, 0, 'live messages wait behind the replay');
      log.finishReplay();
      await settle();
      assert.deepEqual(story(sink), ['log old 1', 'log old 2', 'log live 1', 'log live 2']);
      assert.deepEqual(sink.positions(), ['g:1', 'g:2', 'g:3', 'g:4']);
      box.push(note('after'));
      assert.deepEqual(sink.positions().at(-1), 'g:5');
    });
  }

  test('an async replay that fails still lets the waiting live messages through', async () => {
    const log = new AsyncEventLog('at-call');
    const { box } = outbox(log);
    box.push(note('old'));
    const sink = new FakeSink();
    box.attach(G, sink, 0);
    box.push(note('live'));
    log.failReplay(new Error('store down'));
    await settle();
    assert.deepEqual(story(sink), ['log live']);
  });

  test('a sink detached during an async replay gets nothing when it resolves', async () => {
    const log = new AsyncEventLog('at-call');
    const { box } = outbox(log);
    box.push(note('old'));
    const sink = new FakeSink();
    box.attach(G, sink, 0);
    box.detach(sink);
    log.finishReplay();
    await settle();
    assert.equal(sink.writes.length, 0);
  });

  test('a result that waited behind an async replay whose sink went away is reported as lost once evicted', async () => {
    const log = new AsyncEventLog('at-call', { maxEvents: 2 });
    const { box } = outbox(log);
    box.push(note('old'));
    const gone = new FakeSink();
    box.attach(G, gone, 0);
    box.push(result('r1')); // waits behind the replay: never written
    box.detach(gone);
    log.finishReplay();
    await settle();
    assert.equal(gone.writes.length, 0);
    for (const t of ['f1', 'f2', 'f3']) box.push(note(t)); // r1 is evicted
    const back = new FakeSink();
    box.attach(G, back, 1);
    log.finishReplay();
    await settle();
    assert.ok(back.bodies().some((b) => b.id === 'r1' && b.error?.code === -32031), JSON.stringify(back.bodies()));
  });

  test('a result evicted before anyone received it is reported with -32031 on the resume', () => {
    const { box } = outbox(new MemoryEventLog({ maxEvents: 2 }));
    box.push(result('r1')); // no sink: undelivered
    for (const t of ['f1', 'f2', 'f3']) box.push(note(t));
    const sink = new FakeSink();
    box.attach(G, sink, 0);
    assert.deepEqual(story(sink), ['log f2', 'log f3', 'error r1 -32031']);
    assert.match(sink.bodies()[2].error.message, /^The result of this request was lost: .*EVENT_BUFFER_EVENTS/);
    assert.equal(sink.writes[2]!.seq, 5, 'the report is an event of the stream too');
  });

  test('a result that was delivered and then evicted is not reported as lost', () => {
    const { box } = outbox(new MemoryEventLog({ maxEvents: 2 }));
    const first = new FakeSink();
    box.attach(G, first);
    box.push(result('r1'));
    box.detach(first);
    for (const t of ['f1', 'f2', 'f3']) box.push(note(t));
    const second = new FakeSink();
    box.attach(G, second, 0);
    assert.deepEqual(story(second), ['log f2', 'log f3']);
  });

  test('a completed request stream is replayed to its reader and then ended', () => {
    const { box } = outbox();
    const stream = box.openRequestStream(9);
    box.push(progress(9, 1));
    box.push(result(9));
    const sink = new FakeSink();
    box.attach(stream, sink, 0);
    assert.deepEqual(story(sink), ['progress 9=1', 'result 9']);
    assert.equal(sink.ended, 1);
    box.push(note('later'));
    assert.equal(sink.writes.length, 2);
  });

  test('with an async log, a response recorded during the replay ends the stream after it', async () => {
    const log = new AsyncEventLog('at-call');
    const { box } = outbox(log);
    const stream = box.openRequestStream(9);
    box.push(progress(9, 1));
    const sink = new FakeSink();
    box.attach(stream, sink, 0);
    box.push(result(9));
    assert.equal(sink.ended, 0);
    log.finishReplay();
    await settle();
    assert.deepEqual(story(sink), ['progress 9=1', 'result 9']);
    assert.equal(sink.ended, 1);
  });

  test('a request stream that was never opened (or long gone) is ended at once', () => {
    const { box } = outbox();
    const sink = new FakeSink();
    box.attach('42', sink, 0);
    assert.equal(sink.ended, 1);
    assert.equal(sink.writes.length, 0);
  });
});

describe('backpressure', () => {
  const HIGH = 1000;
  function congestedBox(options: Partial<OutboxOptions> = {}) {
    const { box } = outbox(new MemoryEventLog(), { highWaterBytes: HIGH, slowClientTimeoutMs: 5000, ...options });
    const sink = new FakeSink();
    box.attach(G, sink);
    sink.bufferedAmount = HIGH + 1;
    box.push(note('fills the buffer')); // written; now over the mark
    assert.equal(box.congested, true);
    return { box, sink };
  }

  test('over the mark: progress is coalesced per call, logs are counted, results, requests and notifications still go out', async () => {
    const { box, sink } = congestedBox();
    for (let i = 1; i <= 5; i++) box.push(progress('a', i));
    for (let i = 1; i <= 3; i++) box.push(progress('b', i));
    box.push(callLog('a', 'dropped 1'));
    box.push(callLog('a', 'dropped 2'));
    box.push(requestMessage('s1', 'roots/list', undefined));
    box.push(notificationMessage('notifications/resources/updated', { uri: 'x' }));
    box.push(result('a'));
    assert.deepEqual(story(sink), ['log fills the buffer', 'request roots/list', 'notifications/resources/updated', 'progress a=5', 'result a'],
      'a\'s newest progress goes right before its result; b waits');
    sink.drain();
    await settle();
    assert.equal(box.congested, false);
    assert.deepEqual(story(sink).slice(5), ['progress b=3', 'log 2 log messages were dropped while the connection could not keep up']);
    assert.equal(sink.bodies().at(-1).params.level, 'warning');
    assert.equal(sink.bodies().at(-1).params.logger, 'realtime-mcp');
    box.push(callLog('a', 'flows again'));
    assert.deepEqual(story(sink).at(-1), 'log flows again');
  });

  test('one dropped log is reported in the singular, under the configured logger name', async () => {
    const { box, sink } = congestedBox({ loggerName: 'my-server' });
    box.push(callLog('a', 'x'));
    sink.drain();
    await settle();
    assert.deepEqual(sink.bodies().at(-1).params, { level: 'warning', logger: 'my-server', data: '1 log message was dropped while the connection could not keep up' });
  });

  test('coalesced progress flushes in order of its newest update, and stops when the client is slow again', async () => {
    const { box, sink } = congestedBox();
    box.push(progress('a', 1));
    box.push(progress('b', 1));
    box.push(progress('a', 2)); // a's newest update is now the most recent
    sink.bufferedAmount = HIGH + 1; // still over the mark when the first flushed message is written
    sink.drain();
    sink.bufferedAmount = HIGH + 1;
    await settle();
    assert.deepEqual(story(sink).slice(1), ['progress b=1'], 'slow again after one write: the rest waits');
    assert.equal(box.congested, true);
    sink.drain();
    await settle();
    assert.deepEqual(story(sink).slice(1), ['progress b=1', 'progress a=2']);
  });

  test('whenDrained waits only for congested sinks', async () => {
    const { box, sink } = congestedBox();
    const idle = new FakeSink();
    box.openRequestStream(1);
    box.attach('1', idle);
    let drained = false;
    void box.whenDrained().then(() => (drained = true));
    await settle();
    assert.equal(drained, false);
    sink.drain();
    await settle();
    assert.equal(drained, true);
    assert.equal(box.bufferedAmount, 0);
  });

  test('a client slow for slowClientTimeoutMs is dropped (once); one that drains in time is not (fake timers)', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const slow = congestedBox({ slowClientTimeoutMs: 200 });
    t.mock.timers.tick(199);
    assert.equal(slow.sink.droppedSlow, 0);
    t.mock.timers.tick(1);
    assert.equal(slow.sink.droppedSlow, 1);
    t.mock.timers.tick(10_000);
    assert.equal(slow.sink.droppedSlow, 1);

    const recovering = congestedBox({ slowClientTimeoutMs: 200 });
    t.mock.timers.tick(150);
    recovering.sink.drain();
    await settle();
    t.mock.timers.tick(1000);
    assert.equal(recovering.sink.droppedSlow, 0);

    const detached = congestedBox({ slowClientTimeoutMs: 200 });
    detached.box.detach(detached.sink);
    t.mock.timers.tick(1000);
    assert.equal(detached.sink.droppedSlow, 0, 'a sink that went away is not dropped again');
  });

  test('progress coalesced while slow goes into the log, in order, when the sink detaches', () => {
    const { box, sink } = congestedBox();
    box.push(progress('a', 1));
    box.push(progress('a', 2));
    box.detach(sink);
    box.push(result('a'));
    const back = new FakeSink();
    box.attach(G, back, 1);
    assert.deepEqual(story(back), ['progress a=2', 'result a']);
  });
});

describe('the ordering barrier', () => {
  function barrierBox(options: { barrierPing?: () => Promise<void> } = {}) {
    const { box, pings } = outbox();
    const sink = new FakeSink({ needsOrderingBarrier: true, ...options });
    box.attach(G, sink);
    return { box, pings, sink };
  }

  test('a result after progress waits for the ping; results behind it wait too; all go out in order when it is answered', async () => {
    const { box, pings, sink } = barrierBox();
    box.push(progress('a', 1));
    box.push(result('a'));
    box.push(result('b')); // no progress, but it must not overtake a
    assert.deepEqual(story(sink), ['progress a=1']);
    assert.equal(pings.length, 1);
    pings[0]!.open({});
    await settle();
    assert.deepEqual(story(sink), ['progress a=1', 'result a', 'result b']);
    box.push(result('c'));
    assert.deepEqual(story(sink).at(-1), 'result c', 'with nothing pending a result without progress goes at once');
    assert.equal(pings.length, 1);
  });

  test('progress written after the ping went out needs a second barrier', async () => {
    const { box, pings, sink } = barrierBox();
    box.push(progress('a', 1));
    box.push(result('a'));
    box.push(progress('b', 1)); // after ping 1 was sent
    box.push(result('b'));
    pings[0]!.open({});
    await settle();
    assert.deepEqual(story(sink), ['progress a=1', 'progress b=1', 'result a']);
    assert.equal(pings.length, 2);
    pings[1]!.open({});
    await settle();
    assert.deepEqual(story(sink), ['progress a=1', 'progress b=1', 'result a', 'result b']);
  });

  test('an error response counts as an answer the barrier holds too', async () => {
    const { box, pings, sink } = barrierBox();
    box.push(progress('a', 1));
    box.push(errorMessage(errorResponse('a', -32001, 'timed out')));
    assert.deepEqual(story(sink), ['progress a=1']);
    pings[0]!.open({});
    await settle();
    assert.deepEqual(story(sink), ['progress a=1', 'error a -32001']);
  });

  test('a ping that times out (rejects) releases the held results and disables the barrier', async () => {
    const { box, pings, sink } = barrierBox();
    box.push(progress('a', 1));
    box.push(result('a'));
    pings[0]!.fail(new Error('no answer'));
    await settle();
    assert.deepEqual(story(sink), ['progress a=1', 'result a']);
    box.push(progress('b', 1));
    box.push(result('b'));
    assert.deepEqual(story(sink).slice(2), ['progress b=1', 'result b'], 'no more barriers for this client');
    assert.equal(pings.length, 1);
  });

  test('held results go to the log when the session sink detaches, and a resume gets them', () => {
    const { box, sink } = barrierBox();
    box.push(progress('a', 1));
    box.push(result('a'));
    box.detach(sink);
    const back = new FakeSink({ needsOrderingBarrier: true });
    box.attach(G, back, 1);
    assert.deepEqual(story(back), ['result a']);
  });

  test('flushHeld sends held results at once (shutdown); a late ping answer changes nothing', async () => {
    const { box, pings, sink } = barrierBox();
    box.push(progress('a', 1));
    box.push(result('a'));
    box.flushHeld();
    assert.deepEqual(story(sink), ['progress a=1', 'result a']);
    pings[0]!.open({});
    await settle();
    assert.equal(sink.writes.length, 2);
  });

  test('the sink\'s own round trip (WebSocket ping frame) is used instead of a JSON-RPC ping', async () => {
    const frames: Array<Gate<void>> = [];
    const { box, pings, sink } = barrierBox({
      barrierPing: () => {
        const g = gate<void>();
        frames.push(g);
        return g.promise;
      },
    });
    box.push(progress('a', 1));
    box.push(result('a'));
    assert.equal(frames.length, 1);
    assert.equal(pings.length, 0);
    frames[0]!.open();
    await settle();
    assert.deepEqual(story(sink), ['progress a=1', 'result a']);
  });

  test('a sink that does not need the barrier gets results at once; progress on it arms no barrier', () => {
    const { box, pings } = outbox();
    const sink = new FakeSink({ needsOrderingBarrier: false });
    box.attach(G, sink);
    box.push(progress('a', 1));
    box.push(result('a'));
    assert.deepEqual(story(sink), ['progress a=1', 'result a']);
    assert.equal(pings.length, 0);
  });
});

describe('serialization', () => {
  test('a result JSON cannot encode becomes -32603 for its request; a notification becomes an error log', () => {
    const { box } = outbox();
    const sink = new FakeSink();
    box.attach(G, sink);
    box.push(resultMessage(1, { content: [], structuredContent: { n: 1n } }));
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    box.push(notificationMessage('notifications/custom', cyclic));
    const [answer, notice] = sink.bodies();
    assert.equal(answer.id, 1);
    assert.equal(answer.error.code, -32603);
    assert.match(answer.error.message, /^Internal error: the result could not be serialized as JSON \(.*BigInt/);
    assert.deepEqual(notice, { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'error', data: 'a message could not be serialized as JSON' } });
    // What was recorded is what was sent: a resume sees the same error.
    const back = new FakeSink();
    box.attach(G, back, 0);
    assert.deepEqual(back.bodies(), [answer, notice]);
  });
});

