// The one contract every store implementation passes (memory: test/stores/memory.test.ts, Redis:
// test/stores/redis.test.ts), so that the core behaves the same on either. What a single in-process
// node cannot show (another node reading what this one wrote, a live owner on another node, a node's
// liveness expiring) runs only where several Stores instances share one backend (`multiNode`); those
// cases are skipped for the memory store with that reason.
//
// Writes that other nodes see may be batched (calls, the event log, snapshots), so reads that cross
// nodes poll until the write is visible (`eventually`), with a bound. Every assert.ok has a message:
// without one, a failing assert.ok re-parses the source file to describe itself, which under tsx takes
// seconds per failure and turns a polling loop into an apparent hang.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { BusMessage, CallRecord, SessionRecord, Stores } from '../../src/stores/types.js';
import type { EventLog, ReplayResult } from '../../src/outbox/event-log.js';

export interface StoreContractOptions {
  /** The event log bound the stores are made with (their EVENT_BUFFER_EVENTS). */
  maxEvents: number;
  /** Several Stores instances made by `makeStores` share one backend, as several nodes do. */
  multiNode: boolean;
  /** The liveness TTL of the nodes made (multiNode only): a crashed node is dead after it. */
  nodeTtlMs?: number;
  /** Kill a node without a goodbye (its liveness must then expire by itself). */
  crash?: (stores: Stores) => void;
}

const ONE_NODE = 'one node: the memory store has no other node to play';

export function defineStoreContract(name: string, makeStores: () => Promise<Stores>, options: StoreContractOptions): void {
  const multi = options.multiNode ? {} : { skip: ONE_NODE };

  /** Runs `body` with `count` fresh Stores instances (nodes), closing them afterwards. */
  async function withNodes(count: number, body: (...nodes: Stores[]) => Promise<void>): Promise<void> {
    const nodes: Stores[] = [];
    try {
      for (let i = 0; i < count; i++) nodes.push(await makeStores());
      await body(...nodes);
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  }
  const withNode = (body: (s: Stores) => Promise<void>) => withNodes(1, body);

  describe(`${name} stores contract`, () => {
    describe('session records', () => {
      test('create and get round-trip every field; an unknown id is undefined', () =>
        withNode(async (s) => {
          const r = record(s.nodes.id, {
            principal: { subject: 'alice', issuer: 'https://issuer.example', scopes: ['mcp:tools', 'mcp:admin'] },
            protocolVersion: '2025-11-25',
            clientInfo: { name: 'client', version: '1.2.3' },
            clientCapabilities: { roots: { listChanged: true }, sampling: {} },
            logLevel: 'warning',
            initialized: true,
            subscriptions: ['realtime://a', 'realtime://b'],
          });
          await s.sessions.create(r);
          assert.deepEqual(await s.sessions.get(r.id), r);
          assert.equal(await s.sessions.get(randomUUID()), undefined);
        }));

      test('absent optional fields stay absent; the principal may be undefined', () =>
        withNode(async (s) => {
          const r = record(s.nodes.id);
          await s.sessions.create(r);
          const got = await s.sessions.get(r.id);
          assert.deepEqual(got, r);
          assert.equal(got!.principal, undefined);
          assert.equal(got!.logLevel, undefined);
          assert.deepEqual(got!.subscriptions, []);
        }));

      test('update changes the given fields only; undefined clears one; a copy is returned', () =>
        withNode(async (s) => {
          const r = record(s.nodes.id, { logLevel: 'info' });
          await s.sessions.create(r);
          await s.sessions.update(r.id, { initialized: true, subscriptions: ['realtime://x'], protocolVersion: '2026-07-28' });
          let got = (await s.sessions.get(r.id))!;
          assert.deepEqual(got, { ...r, initialized: true, subscriptions: ['realtime://x'], protocolVersion: '2026-07-28' });
          got.subscriptions.push('mutated');
          await s.sessions.update(r.id, { logLevel: undefined });
          got = (await s.sessions.get(r.id))!;
          assert.equal(got.logLevel, undefined);
          assert.deepEqual(got.subscriptions, ['realtime://x']);
          assert.equal(got.initialized, true);
        }));

      test('update of an unknown session creates nothing', () =>
        withNode(async (s) => {
          const id = randomUUID();
          await s.sessions.update(id, { initialized: true, owner: s.nodes.id });
          assert.equal(await s.sessions.get(id), undefined);
        }));

      test('create replaces a record whole', () =>
        withNode(async (s) => {
          const r = record(s.nodes.id, { logLevel: 'debug' });
          await s.sessions.create(r);
          const again = { ...r, logLevel: undefined, subscriptions: ['realtime://y'] };
          await s.sessions.create(again);
          assert.deepEqual(await s.sessions.get(r.id), again);
        }));

      test('delete forgets the record and its calls; touch never throws', () =>
        withNode(async (s) => {
          const r = record(s.nodes.id);
          await s.sessions.create(r);
          s.sessions.touch(r.id);
          s.sessions.touch(randomUUID());
          s.sessions.recordCalls(r.id, new Map([[1, call(s.nodes.id, 1)]]));
          await eventually(async () => assert.equal((await s.sessions.calls(r.id)).length, 1));
          await s.sessions.delete(r.id);
          assert.equal(await s.sessions.get(r.id), undefined);
          assert.deepEqual(await s.sessions.calls(r.id), []);
          await s.sessions.delete(r.id); // twice is fine
        }));

      test('a record written by one node is read by another', multi, () =>
        withNodes(2, async (a, b) => {
          const r = record(a.nodes.id, { principal: { subject: 'bob', scopes: [] }, subscriptions: ['realtime://z'] });
          await a.sessions.create(r);
          assert.deepEqual(await b.sessions.get(r.id), r);
          await b.sessions.update(r.id, { logLevel: 'error' });
          assert.equal((await a.sessions.get(r.id))!.logLevel, 'error');
          await b.sessions.delete(r.id);
          assert.equal(await a.sessions.get(r.id), undefined);
        }));
    });

    describe('claim', () => {
      test('the owner claims its own session', () =>
        withNode(async (s) => {
          const r = record(s.nodes.id);
          await s.sessions.create(r);
          assert.deepEqual(await claim(s, r.id), { claimed: true, previousOwner: s.nodes.id });
          assert.equal((await s.sessions.get(r.id))!.owner, s.nodes.id);
        }));

      test('a session whose owner is not alive is claimed', () =>
        withNode(async (s) => {
          const r = record('dead0000');
          await s.sessions.create(r);
          assert.deepEqual(await claim(s, r.id), { claimed: true, previousOwner: 'dead0000' });
          assert.equal((await s.sessions.get(r.id))!.owner, s.nodes.id);
        }));

      test('a session that is gone cannot be claimed', () =>
        withNode(async (s) => {
          assert.equal(await claim(s, randomUUID()), undefined);
          const r = record(s.nodes.id);
          await s.sessions.create(r);
          await s.sessions.delete(r.id);
          assert.equal(await claim(s, r.id), undefined);
        }));

      test('a live owner refuses; the expected owner (a handover) is taken over', multi, () =>
        withNodes(2, async (a, b) => {
          const r = record(b.nodes.id);
          await a.sessions.create(r);
          assert.deepEqual(await claim(a, r.id), { claimed: false, owner: b.nodes.id });
          assert.equal((await a.sessions.get(r.id))!.owner, b.nodes.id);
          assert.deepEqual(await claim(a, r.id, b.nodes.id), { claimed: true, previousOwner: b.nodes.id });
          assert.equal((await b.sessions.get(r.id))!.owner, a.nodes.id);
        }));

      test('two nodes racing for a dead owner\'s session: exactly one wins', multi, () =>
        withNodes(2, async (a, b) => {
          for (let round = 0; round < 20; round++) {
            const r = record(`dead${String(round).padStart(4, '0')}`);
            await a.sessions.create(r);
            const [ra, rb] = await Promise.all([claim(a, r.id), claim(b, r.id)]);
            const winners = [ra, rb].filter((o) => o?.claimed === true);
            assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify([ra, rb])}`);
            const winner = ra!.claimed ? a : b;
            const loser = ra!.claimed ? rb : ra;
            assert.deepEqual(loser, { claimed: false, owner: winner.nodes.id });
            assert.equal((await a.sessions.get(r.id))!.owner, winner.nodes.id);
          }
        }));

      test('a node that crashed is claimed from once its liveness expired', options.crash ? multi : { skip: ONE_NODE }, () =>
        withNodes(2, async (a, b) => {
          const r = record(b.nodes.id);
          await a.sessions.create(r);
          assert.equal((await claim(a, r.id))?.claimed, false);
          options.crash!(b);
          await eventually(async () => assert.deepEqual(await claim(a, r.id), { claimed: true, previousOwner: b.nodes.id }), (options.nodeTtlMs ?? 0) * 3 + 2_000);
        }));
    });

    describe('calls in flight', () => {
      test('record, progress, remove; string and number ids', () =>
        withNode(async (s) => {
          const id = randomUUID();
          s.sessions.recordCalls(id, new Map<RequestId, CallRecord | undefined>([[1, call(s.nodes.id, 1)], ['req-2', call(s.nodes.id, 'req-2')]]));
          assert.deepEqual(sortCalls(await s.sessions.calls(id)), [call(s.nodes.id, 1), call(s.nodes.id, 'req-2')]);
          s.sessions.recordCalls(id, new Map([[1, { ...call(s.nodes.id, 1), lastProgress: 40, total: 100 }]]));
          s.sessions.recordCalls(id, new Map([[1, { ...call(s.nodes.id, 1), lastProgress: 50, total: 100 }]]));
          assert.deepEqual(sortCalls(await s.sessions.calls(id)), [{ ...call(s.nodes.id, 1), lastProgress: 50, total: 100 }, call(s.nodes.id, 'req-2')]);
          s.sessions.recordCalls(id, new Map([[1, undefined]]));
          assert.deepEqual(await s.sessions.calls(id), [call(s.nodes.id, 'req-2')]);
          s.sessions.recordCalls(id, new Map<RequestId, CallRecord | undefined>([['req-2', undefined], [99, undefined]]));
          assert.deepEqual(await s.sessions.calls(id), []);
        }));

      test('calls recorded on one node are read on another, with their progress', multi, () =>
        withNodes(2, async (a, b) => {
          const id = randomUUID();
          a.sessions.recordCalls(id, new Map([[7, call(a.nodes.id, 7)]]));
          b.sessions.recordCalls(id, new Map([[8, call(b.nodes.id, 8)]]));
          await eventually(async () => assert.deepEqual(sortCalls(await b.sessions.calls(id)), [call(a.nodes.id, 7), call(b.nodes.id, 8)]));
          a.sessions.recordCalls(id, new Map([[7, { ...call(a.nodes.id, 7), lastProgress: 3, total: null }]]));
          await eventually(async () => assert.deepEqual((await b.sessions.calls(id)).find((c) => c.requestId === 7)?.lastProgress, 3));
          a.sessions.recordCalls(id, new Map([[7, undefined]]));
          await eventually(async () => assert.deepEqual(await b.sessions.calls(id), [call(b.nodes.id, 8)]));
        }));
    });

    describe('bus', () => {
      test('to this node and to all arrive here, as copies; to another node does not', () =>
        withNode(async (s) => {
          const got: BusMessage[] = [];
          await s.bus.listen((m) => got.push(m));
          const sent = { type: 'hello', n: 1, nested: { list: [1, 'two'] } };
          s.bus.publish(s.nodes.id, sent);
          s.bus.publish('*', { type: 'all' });
          s.bus.publish('someone-else', { type: 'not-for-me' });
          await eventually(async () => assert.deepEqual(got.map((m) => m.type).sort(), ['all', 'hello']));
          assert.notEqual(got.find((m) => m.type === 'hello'), sent);
          assert.deepEqual(got.find((m) => m.type === 'hello'), sent);
          await sleep(100);
          assert.equal(got.length, 2);
        }));

      test('a message to one node reaches that node only; to all reaches every node', multi, () =>
        withNodes(2, async (a, b) => {
          const gotA: string[] = [];
          const gotB: string[] = [];
          await a.bus.listen((m) => gotA.push(m.type));
          await b.bus.listen((m) => gotB.push(m.type));
          a.bus.publish(b.nodes.id, { type: 'for-b' });
          b.bus.publish(a.nodes.id, { type: 'for-a' });
          a.bus.publish('*', { type: 'all' });
          await eventually(async () => {
            assert.deepEqual(gotA.sort(), ['all', 'for-a']);
            assert.deepEqual(gotB.sort(), ['all', 'for-b']);
          });
          await sleep(100);
          assert.equal(gotA.length + gotB.length, 4);
        }));
    });

    describe('nodes', () => {
      test('this node is alive and listed; an unknown node is not', () =>
        withNode(async (s) => {
          assert.equal(await s.nodes.isAlive(s.nodes.id), true);
          assert.equal((await s.nodes.alive()).includes(s.nodes.id), true, 'alive() lists this node');
          assert.equal(await s.nodes.isAlive('nobody00'), false);
          assert.equal((await s.nodes.alive()).includes('nobody00'), false, 'alive() lists no unknown node');
          assert.match(s.nodes.id, /^[0-9a-f]{8}$/);
          assert.equal(s.healthy, true);
        }));

      test('other nodes are alive while they run; one that closes is gone at once', multi, () =>
        withNodes(2, async (a, b) => {
          assert.notEqual(a.nodes.id, b.nodes.id);
          assert.equal(await a.nodes.isAlive(b.nodes.id), true);
          assert.equal((await a.nodes.alive()).includes(b.nodes.id), true, 'alive() lists the other node');
          await b.close();
          assert.equal(await a.nodes.isAlive(b.nodes.id), false);
          assert.equal((await a.nodes.alive()).includes(b.nodes.id), false, 'alive() no longer lists the closed node');
        }));

      test('a node that stops beating (crash) is dead after its TTL, not before', options.crash ? multi : { skip: ONE_NODE }, () =>
        withNodes(2, async (a, b) => {
          const ttl = options.nodeTtlMs!;
          // Alive across several heartbeats (well past one TTL): beats renew it.
          await sleep(ttl * 1.5);
          assert.equal(await a.nodes.isAlive(b.nodes.id), true);
          const crashedAt = Date.now();
          options.crash!(b);
          assert.equal(await a.nodes.isAlive(b.nodes.id), true, 'dead before its TTL');
          await eventually(async () => assert.equal(await a.nodes.isAlive(b.nodes.id), false), ttl * 3 + 1_000);
          assert.ok(Date.now() - crashedAt >= ttl / 3, 'dead much earlier than its TTL');
          await eventually(async () => assert.equal((await a.nodes.alive()).includes(b.nodes.id), false, 'alive() still lists the crashed node'), ttl + 1_000);
        }));
    });

    describe('cluster view', () => {
      test('this node reads its newest snapshot', () =>
        withNode(async (s) => {
          s.cluster.publish(snapshot(s.nodes.id, 1));
          s.cluster.publish(snapshot(s.nodes.id, 2));
          const mine = (await s.cluster.read()).filter((x) => x.node === s.nodes.id);
          assert.deepEqual(mine, [snapshot(s.nodes.id, 2)]);
          s.cluster.publish(snapshot(s.nodes.id, 3));
          await sleep(300);
          assert.deepEqual((await s.cluster.read()).filter((x) => x.node === s.nodes.id), [snapshot(s.nodes.id, 3)]);
        }));

      test('every live node\'s newest snapshot; a node that is gone drops out', multi, () =>
        withNodes(2, async (a, b) => {
          a.cluster.publish(snapshot(a.nodes.id, 1));
          b.cluster.publish(snapshot(b.nodes.id, 1));
          b.cluster.publish(snapshot(b.nodes.id, 2));
          const ours = (list: Awaited<ReturnType<Stores['cluster']['read']>>) => list.filter((x) => x.node === a.nodes.id || x.node === b.nodes.id);
          await eventually(async () => assert.deepEqual(ours(await a.cluster.read()), [snapshot(a.nodes.id, 1), snapshot(b.nodes.id, 2)].sort(byNode)));
          await b.close();
          await eventually(async () => assert.deepEqual(ours(await a.cluster.read()), [snapshot(a.nodes.id, 1)]));
        }));

      test('a crashed node drops out once its liveness expired', options.crash ? multi : { skip: ONE_NODE }, () =>
        withNodes(2, async (a, b) => {
          b.cluster.publish(snapshot(b.nodes.id, 1));
          await eventually(async () => assert.equal((await a.cluster.read()).some((x) => x.node === b.nodes.id), true, 'the other node\'s snapshot is read'));
          options.crash!(b);
          await eventually(async () => assert.equal((await a.cluster.read()).some((x) => x.node === b.nodes.id), false, 'the crashed node\'s snapshot is still read'), options.nodeTtlMs! * 3 + 1_000);
        }));
    });

    describe('event log', () => {
      const max = options.maxEvents;

      test('numbers per stream from 1; lastSeq follows', () =>
        withNode(async (s) => {
          const log = s.eventLogs.create(randomUUID());
          assert.equal(log.lastSeq('g'), 0);
          assert.deepEqual([log.append('g', m(1)), log.append('g', m(2)), log.append('1', m(3)), log.append('g', m(4)), log.append('1', m(5))], [1, 2, 1, 3, 2]);
          assert.equal(log.lastSeq('g'), 3);
          assert.equal(log.lastSeq('1'), 2);
          assert.equal(log.lastSeq('other'), 0);
          log.close();
        }));

      test('replay after N gives the rest of that stream, in order, every time', () =>
        withNode(async (s) => {
          const log = s.eventLogs.create(randomUUID());
          for (let i = 1; i <= 10; i++) {
            log.append('g', m(i));
            log.append('2', m(100 + i));
          }
          assert.deepEqual(await log.replay('g', 4), expected(5, 10, (i) => m(i)));
          assert.deepEqual(await log.replay('g', 4), expected(5, 10, (i) => m(i)));
          await tick(); // written to the backend meanwhile: the same answer
          assert.deepEqual(await log.replay('g', 0), expected(1, 10, (i) => m(i)));
          assert.deepEqual(await log.replay('2', 9), expected(10, 10, (i) => m(100 + i)));
          assert.deepEqual(await log.replay('g', 10), { events: [], lostResponses: [] });
          assert.deepEqual(await log.replay('nothing', 0), { events: [], lostResponses: [] });
          log.close();
        }));

      test('texts round-trip exactly (unicode, newlines, empty, large)', () =>
        withNode(async (s) => {
          const log = s.eventLogs.create(randomUUID());
          const texts = [JSON.stringify({ s: 'héllo ☃ 𝄞 \u2028' }), 'line one\nline two', '', 'x'.repeat(100_000), JSON.stringify('\n')];
          for (const t of texts) log.append('g', t);
          assert.deepEqual(await log.replay('g', 0), { events: texts.map((text, i) => ({ seq: i + 1, text })), lostResponses: [] });
          log.close();
        }));

      test('a completed request stream is forgotten but still replayed; one whose response waits undelivered keeps its number', () =>
        withNode(async (s) => {
          const log = s.eventLogs.create(randomUUID());
          // Thousands of requests in one session: each stream's number goes once it got its response.
          for (let i = 1; i <= 5_000; i++) {
            log.append(`r${i}`, m(i));
            log.append(`r${i}`, `{"result":${i}}`);
            log.complete!(`r${i}`);
          }
          await tick(); // a log that batches writes forgets a stream once its batch has left
          for (const i of [1, 2_500, 5_000]) assert.equal(log.lastSeq(`r${i}`), 0, `stream r${i} forgotten`);
          // Its events are still there for a client that resumes it (from the log, by name).
          assert.deepEqual(await log.replay('r5000', 1), { events: [{ seq: 2, text: '{"result":5000}' }], lostResponses: [] });
          log.append('u', '{"result":"u"}', 'call-u');
          log.complete!('u');
          assert.equal(log.lastSeq('u'), 1, 'an undelivered response keeps its stream numbered');
          log.close();
        }));

      test('a kept undelivered response is replayed, not reported lost', () =>
        withNode(async (s) => {
          const log = s.eventLogs.create(randomUUID());
          log.append('3', m(1));
          log.append('3', '{"result":1}', 'call-3');
          await tick();
          assert.deepEqual(await log.replay('3', 0), { events: [{ seq: 1, text: m(1) }, { seq: 2, text: '{"result":1}' }], lostResponses: [] });
          log.close();
        }));

      test('bounded: the newest events are kept, in order, without gaps', () =>
        withNode(async (s) => {
          const log = s.eventLogs.create(randomUUID());
          const total = max * 3;
          for (let i = 1; i <= total; i++) {
            log.append('g', m(i));
            if (i % 7 === 0) await tick(); // written in many batches
          }
          await tick();
          const { events, lostResponses } = await log.replay('g', 0);
          assert.deepEqual(lostResponses, []);
          // A Redis entry holds a batch and is kept whole, and a batch holds at most `max` messages; batches
          // grow past 7 while a write is in flight (a busy machine): at most max - 1 more than the bound.
          assert.ok(events.length >= max && events.length <= 2 * max - 1, `kept ${events.length} of ${total} (bound ${max})`);
          assert.equal(events[events.length - 1]!.seq, total);
          events.forEach((e, i) => assert.deepEqual(e, { seq: total - events.length + 1 + i, text: m(total - events.length + 1 + i) }));
          log.close();
        }));

      test('a response evicted before anyone got it is reported lost, once', () =>
        withNode(async (s) => {
          const log = s.eventLogs.create(randomUUID());
          log.append('5', '{"progress":1}');
          log.append('5', '{"result":"gone"}', 'lost-call');
          log.append('6', '{"result":"gone too"}', 42);
          for (let i = 1; i <= max * 2; i++) {
            log.append('g', m(i));
            if (i % 5 === 0) await tick();
          }
          await tick();
          assert.deepEqual(await log.replay('5', 0), { events: [], lostResponses: ['lost-call'] });
          assert.deepEqual(await log.replay('5', 0), { events: [], lostResponses: [] });
          // Another stream's loss is its own; a client that already has it (after ≥ its seq) hears nothing.
          assert.deepEqual(await log.replay('6', 1), { events: [], lostResponses: [] });
          assert.deepEqual(await log.replay('6', 0), { events: [], lostResponses: [] });
          log.close();
        }));

      test('a lost response is reported to a replay from before it', () =>
        withNode(async (s) => {
          const log = s.eventLogs.create(randomUUID());
          log.append('7', '{"result":"lost"}', 7);
          for (let i = 1; i <= max * 2; i++) {
            log.append('g', m(i));
            if (i % 5 === 0) await tick();
          }
          await tick();
          assert.deepEqual(await log.replay('7', 0), { events: [], lostResponses: [7] });
          log.close();
        }));

      test('after close the log is empty', () =>
        withNode(async (s) => {
          const log = s.eventLogs.create(randomUUID());
          log.append('g', m(1));
          log.close();
          assert.deepEqual(await log.replay('g', 0), { events: [], lostResponses: [] });
        }));

      test('another node replays what this node logged, after open(), and continues the numbering', multi, () =>
        withNodes(3, async (a, b, c) => {
          const id = randomUUID();
          const la = a.eventLogs.create(id);
          for (let i = 1; i <= 20; i++) la.append('g', m(i));
          la.append(`${a.nodes.id}-1`, m(1000));
          la.append(`${a.nodes.id}-1`, '{"result":"r"}', 'r1');
          const lb = b.eventLogs.create(id);
          await eventually(async () => {
            await lb.open!();
            assert.equal(lb.lastSeq('g'), 20);
            assert.equal(lb.lastSeq(`${a.nodes.id}-1`), 2);
          });
          assert.deepEqual(await lb.replay('g', 15), expected(16, 20, (i) => m(i)));
          assert.deepEqual(await lb.replay('g', 15), expected(16, 20, (i) => m(i)));
          assert.deepEqual(await lb.replay(`${a.nodes.id}-1`, 0), { events: [{ seq: 1, text: m(1000) }, { seq: 2, text: '{"result":"r"}' }], lostResponses: [] });
          // B owns the session stream now: it goes on from 21, and a third node sees both parts.
          assert.equal(lb.append('g', m(21)), 21);
          assert.equal(lb.append('g', m(22)), 22);
          const lc = c.eventLogs.create(id);
          await eventually(async () => assert.deepEqual(await lc.replay('g', 18), expected(19, 22, (i) => m(i))));
          la.close();
          await eventually(async () => {
            const fresh = b.eventLogs.create(id);
            await fresh.open!();
            assert.equal(fresh.lastSeq('g'), 0);
            assert.deepEqual(await fresh.replay('g', 0), { events: [], lostResponses: [] });
          });
        }));

      test('a node reading a stream another node still writes always gets its newest events', multi, () =>
        withNodes(2, async (a, b) => {
          const id = randomUUID();
          const stream = `${a.nodes.id}-4`;
          const la = a.eventLogs.create(id);
          la.append(stream, m(1));
          const lb = b.eventLogs.create(id);
          await eventually(async () => {
            await lb.open!();
            assert.equal(lb.lastSeq(stream), 1);
          });
          la.append(stream, m(2));
          la.append(stream, m(3));
          await eventually(async () => assert.deepEqual(await lb.replay(stream, 1), expected(2, 3, (i) => m(i))));
          assert.equal(lb.lastSeq(stream), 3);
        }));

      test('a response lost on one node is reported once, on whichever node replays', multi, () =>
        withNodes(2, async (a, b) => {
          const id = randomUUID();
          const la = a.eventLogs.create(id);
          la.append('9', '{"result":"lost"}', 'nine');
          for (let i = 1; i <= max * 2; i++) {
            la.append('g', m(i));
            if (i % 5 === 0) await tick();
          }
          const lb = b.eventLogs.create(id);
          await eventually(async () => {
            await lb.open!();
            assert.equal(lb.lastSeq('g'), max * 2);
          });
          const [rb, ra] = await Promise.all([lb.replay('9', 0), la.replay('9', 0)]);
          assert.deepEqual([...rb.lostResponses, ...ra.lostResponses], ['nine']);
          assert.deepEqual(await lb.replay('9', 0), { events: [], lostResponses: [] });
        }));
    });
  });
}

function record(owner: string, fields: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: randomUUID(),
    kind: 'ws',
    principal: undefined,
    protocolVersion: undefined,
    clientInfo: undefined,
    clientCapabilities: undefined,
    logLevel: undefined,
    initialized: false,
    subscriptions: [],
    owner,
    createdAt: 1_764_000_000_000,
    ...fields,
  };
}

function claim(s: Stores, id: string, expectedOwner?: string) {
  return s.sessions.claim(id, s.nodes.id, (n) => s.nodes.isAlive(n), expectedOwner);
}

function call(node: string, requestId: RequestId): CallRecord {
  return { requestId, node, tool: 'slow', lastProgress: null, total: null };
}

function sortCalls(calls: CallRecord[]): CallRecord[] {
  return calls.sort((x, y) => String(x.requestId).localeCompare(String(y.requestId)));
}

function snapshot(node: string, n: number) {
  return { node, at: 1_764_000_000_000 + n, stats: { sessions: n }, operations: [{ id: `op-${n}` }] };
}

function byNode(x: { node: string }, y: { node: string }): number {
  return x.node < y.node ? -1 : x.node > y.node ? 1 : 0;
}

/** A progress-sized message text. */
function m(i: number): string {
  return JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 't', progress: i } });
}

function expected(from: number, to: number, text: (i: number) => string): ReplayResult {
  const events = [];
  for (let i = from; i <= to; i++) events.push({ seq: i, text: text(i) });
  return { events, lostResponses: [] };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Let batched writes go out (one macrotask turn and a little I/O time). */
function tick(): Promise<void> {
  return new Promise((r) => setTimeout(r, 5));
}

/** Retries `check` until it passes or `timeoutMs` is over (then its last failure is thrown). */
export async function eventually(check: () => Promise<void>, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(20);
    }
  }
}

export type { EventLog };
