// MemoryEventLog: per-stream numbering, the count and byte bounds, and undelivered responses that are
// evicted (reported once, by the replay of their own stream). Plus the event id format.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryEventLog, MemoryEventLogFactory } from '../../src/outbox/memory-event-log.js';
import { DEFAULTS } from '../../src/defaults.js';
import { formatEventId, parseEventId } from '../../src/outbox/event-log.js';

const texts = (log: MemoryEventLog, stream: string, after = 0) => log.replay(stream, after).events.map((e) => `${e.seq}:${e.text}`);

describe('numbering and replay', () => {
  test('each stream is numbered 1, 2, 3 on its own; lastSeq is 0 before any event', () => {
    const log = new MemoryEventLog();
    assert.equal(log.lastSeq('g'), 0);
    assert.equal(log.append('g', 'a'), 1);
    assert.equal(log.append('1', 'x'), 1);
    assert.equal(log.append('g', 'b'), 2);
    assert.equal(log.append('1', 'y'), 2);
    assert.equal(log.append('g', 'c'), 3);
    assert.equal(log.lastSeq('g'), 3);
    assert.equal(log.lastSeq('1'), 2);
    assert.deepEqual(texts(log, 'g'), ['1:a', '2:b', '3:c']);
    assert.deepEqual(texts(log, 'g', 2), ['3:c']);
    assert.deepEqual(texts(log, 'g', 3), []);
    assert.deepEqual(texts(log, '1'), ['1:x', '2:y']);
    assert.deepEqual(texts(log, 'nothing'), []);
  });

  test('the defaults are EVENT_BUFFER_EVENTS and EVENT_BUFFER_BYTES', () => {
    const log = new MemoryEventLogFactory().create('s');
    assert.equal(log.maxEvents, DEFAULTS.EVENT_BUFFER_EVENTS);
    assert.equal(log.maxBytes, DEFAULTS.EVENT_BUFFER_BYTES);
    const small = new MemoryEventLogFactory({ maxEvents: 3 }).create('s');
    assert.equal(small.maxEvents, 3);
  });

  test('close forgets every event and lost response', () => {
    const log = new MemoryEventLog({ maxEvents: 1 });
    log.append('g', 'r', 'req');
    log.append('g', 'pushes r out');
    log.close();
    assert.deepEqual(log.replay('g', 0), { events: [], lostResponses: [] });
  });
});

describe('bounds', () => {
  test('at most maxEvents are kept, oldest evicted first, across streams; numbers keep counting', () => {
    const log = new MemoryEventLog({ maxEvents: 3 });
    for (const t of ['a', 'b', 'c', 'd', 'e']) log.append('g', t);
    assert.deepEqual(texts(log, 'g'), ['3:c', '4:d', '5:e']);
    log.append('1', 'x');
    assert.deepEqual(texts(log, 'g'), ['4:d', '5:e'], 'one ring for every stream of the session');
    assert.deepEqual(texts(log, '1'), ['1:x']);
    assert.equal(log.lastSeq('g'), 5);
  });

  test('at most maxBytes of text (UTF-16 units) are kept; the newest event is kept even when it alone is larger', () => {
    const log = new MemoryEventLog({ maxEvents: 100, maxBytes: 10 });
    log.append('g', 'aaaa'); // 4
    log.append('g', 'bbbb'); // 8
    log.append('g', 'cccc'); // 12 > 10: a goes
    assert.deepEqual(texts(log, 'g'), ['2:bbbb', '3:cccc']);
    log.append('g', 'é'.repeat(10)); // 10 units on its own: everything older goes
    assert.deepEqual(texts(log, 'g'), [`4:${'é'.repeat(10)}`]);
    log.append('g', 'x'.repeat(50));
    assert.deepEqual(texts(log, 'g'), [`5:${'x'.repeat(50)}`], 'the newest event is always kept');
  });

  test('maxEvents 0 keeps nothing but still numbers, and still remembers undelivered responses', () => {
    const log = new MemoryEventLog({ maxEvents: 0 });
    assert.equal(log.append('g', 'a'), 1);
    assert.equal(log.append('g', 'r', 'req-1'), 2);
    assert.deepEqual(log.replay('g', 0), { events: [], lostResponses: ['req-1'] });
  });
});

describe('undelivered responses', () => {
  test('one evicted before a replay delivered it is reported, once, by the replay of its stream', () => {
    const log = new MemoryEventLog({ maxEvents: 2 });
    log.append('g', 'result of r1', 'r1');
    log.append('1', 'result of r2', 'r2');
    log.append('g', 'f1');
    log.append('g', 'f2'); // both responses are out of the ring now
    const first = log.replay('g', 0);
    assert.deepEqual(first.lostResponses, ['r1']);
    assert.deepEqual(log.replay('g', 0).lostResponses, [], 'reported once');
    assert.deepEqual(log.replay('1', 0).lostResponses, ['r2'], 'the other stream\'s loss waits for its own replay');
    assert.deepEqual(log.replay('1', 0).lostResponses, []);
  });

  test('one still in the ring is replayed, not reported; a delivered one (no id) is never reported', () => {
    const log = new MemoryEventLog({ maxEvents: 2 });
    log.append('g', 'delivered result');
    log.append('g', 'kept result', 'r2');
    assert.deepEqual(log.replay('g', 0), { events: [{ seq: 1, text: 'delivered result' }, { seq: 2, text: 'kept result' }], lostResponses: [] });
    log.append('g', 'f1');
    log.append('g', 'f2');
    assert.deepEqual(log.replay('g', 0).lostResponses, ['r2'], 'replaying it did not make it delivered: only its eviction counts');
  });

  test('a loss at or before the replay\'s last seq is not reported (the client says it had it)', () => {
    const log = new MemoryEventLog({ maxEvents: 1 });
    log.append('g', 'r', 'r1'); // seq 1
    log.append('g', 'f'); // evicts it
    assert.deepEqual(log.replay('g', 1).lostResponses, []);
  });

  test('memory of lost responses is bounded by maxEvents (oldest forgotten)', () => {
    const log = new MemoryEventLog({ maxEvents: 2 });
    for (let i = 1; i <= 6; i++) log.append('g', `r${i}`, `r${i}`);
    log.append('g', 'f1');
    log.append('g', 'f2');
    assert.deepEqual(log.replay('g', 0).lostResponses, ['r5', 'r6']);
  });
});

describe('event ids', () => {
  test('<session>.<stream>.<seq> round-trips, including session ids with dots', () => {
    assert.equal(formatEventId('abc', 'g', 7), 'abc.g.7');
    assert.deepEqual(parseEventId('abc.g.7'), { sessionId: 'abc', stream: 'g', seq: 7 });
    assert.deepEqual(parseEventId(formatEventId('a.b.c', '12', 3)), { sessionId: 'a.b.c', stream: '12', seq: 3 });
  });

  test('anything else is not an event id', () => {
    for (const bad of ['', '7', 'g.7', 'abc.g.', 'abc.g.x', 'abc..7', '.g.7', 'abc.g.-1', 'abc.g.1e3', `abc.g.${'9'.repeat(16)}`]) {
      assert.equal(parseEventId(bad), undefined, bad);
    }
  });
});
