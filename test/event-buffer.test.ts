// EventBuffer: ids that name their session and stream, replay of one stream after an id, eviction.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { EventBuffer } from '../src/sessions/event-buffer.js';

describe('EventBuffer', () => {
  test('ids carry prefix, stream and sequence; replay gives one stream after an id, in order', () => {
    const b = new EventBuffer('sess-A', 10);
    const g1 = b.append('g', 'g1');
    const r1 = b.append('1', 'r1');
    b.append('g', 'g2');
    b.append('1', 'r2');
    assert.equal(g1, 'sess-A.g.1');
    assert.equal(EventBuffer.prefixOf(r1), 'sess-A');
    assert.deepEqual(b.parse(r1), { stream: '1', seq: 2 });
    const out: string[] = [];
    b.replay('1', b.parse(r1)!.seq, (id, text) => out.push(`${id}=${text}`));
    assert.deepEqual(out, ['sess-A.1.4=r2']);
    const all: string[] = [];
    b.replay('g', 0, (_id, text) => all.push(text));
    assert.deepEqual(all, ['g1', 'g2']);
    assert.equal(b.idAt('2'), 'sess-A.2.4', 'an id for "nothing yet" on a new stream');
  });

  test("another buffer's ids, made-up ids and ids never issued do not parse", () => {
    const a = new EventBuffer('sess-A', 10);
    const b = new EventBuffer('sess-B', 10);
    const idOfB = b.append('g', 'secret');
    assert.equal(a.parse(idOfB), undefined);
    assert.equal(a.parse('sess-A.g.99'), undefined, 'not issued yet');
    assert.equal(a.parse('sess-Ax.g.0'), undefined);
    assert.equal(a.parse('sess-A.g.1e3'), undefined);
    assert.equal(a.parse('sess-A'), undefined);
    assert.equal(EventBuffer.prefixOf('nodots'), undefined);
  });

  test('keeps the last `capacity` events and says when some after an id were lost', () => {
    const b = new EventBuffer('s', 3);
    for (let i = 1; i <= 5; i++) b.append('g', `e${i}`);
    const out: string[] = [];
    b.replay('g', 0, (_id, text) => out.push(text));
    assert.deepEqual(out, ['e3', 'e4', 'e5']);
    assert.equal(b.lost(0), true);
    assert.equal(b.lost(2), false);
    b.clear();
    assert.equal(b.replay('g', 0, () => assert.fail('cleared')), 0);
  });

  test('capacity 0 issues ids but keeps nothing', () => {
    const b = new EventBuffer('s', 0);
    assert.equal(b.append('g', 'x'), 's.g.1');
    assert.equal(b.replay('g', 0, () => assert.fail('nothing kept')), 0);
  });
});
