// The Redis stores against the store contract (test/stores/contract.ts), on a real redis-server
// started for this file (test/helpers/redis-server.ts), plus what only Redis has: expiry, batching
// (one script call per stream batch), startup errors, health, and Redis restarts under traffic.
// Without redis-server the file is skipped with a message, except under CI (CI set), where that is a
// failure: .ci/run installs it.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createRedisStores, DEFAULT_CONNECT_TIMEOUT_MS, type RedisStores, type RedisStoresOptions } from '../../src/stores/redis/index.js';
import { decodeEvents, RedisEventLogFactory } from '../../src/stores/redis/event-log.js';
import { RECONNECT_CAP_MS, redisOptions } from '../../src/stores/redis/connection.js';
import type { SessionRecord, Stores } from '../../src/stores/types.js';
import { redisServerMissing, startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { defineStoreContract, eventually } from './contract.js';
import { freePort } from '../helpers/free-port.js';
import { waitUntil, within } from '../helpers/wait.js';

const MAX_EVENTS = 20;
const HEARTBEAT_MS = 100;
const NODE_TTL_MS = 300;

// Nothing the stores do may end in an unhandled rejection, whatever Redis does.
const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

/** Background messages of the stores, kept for failure messages instead of printed. */
const logs: string[] = [];
const logger = {
  warn: (obj: object, msg: string) => void logs.push(`warn ${msg} ${String((obj as { err?: Error }).err?.message ?? '')}`),
  error: (obj: object, msg: string) => void logs.push(`error ${msg} ${String((obj as { err?: Error }).err?.message ?? '')}`),
};

if (redisServerMissing) {
  if (process.env.CI) {
    test('redis-server is installed (required under CI)', () => {
      assert.fail('redis-server is not installed: .ci/run installs it with apt-get install -y redis-server');
    });
  } else {
    test('Redis stores', { skip: 'redis-server is not installed (apt-get install -y redis-server); skipping the Redis store tests' }, () => {});
  }
} else {
  let server: RedisServer;
  const open: RedisStores[] = [];

  /** An event log factory alone on a redis-server of its own: no other store's script runs meanwhile (for counting calls). */
  const ownLogFactory = async (t: TestContext) => {
    const own = await startRedisServer();
    const redis = new Redis(own.url, redisOptions('commands', 'test-own'));
    t.after(async () => {
      await redis.quit();
      await own.stop();
    });
    return { factory: new RedisEventLogFactory({ redis }), redis };
  };
  /** `count` sessions on a log factory of their own each append one message, all flushed in one tick: the calls Redis saw. */
  const flushSessionsInOneTick = async (t: TestContext, count: number) => {
    const { factory, redis } = await ownLogFactory(t);
    const logs = Array.from({ length: count }, () => factory.create(randomUUID()));
    const before = await commandCalls(redis);
    for (const log of logs) log.append('g', m(1));
    await Promise.all(logs.map((l) => l.flushed()));
    const after = await commandCalls(redis);
    return { logs, redis, scripts: after.scripts - before.scripts, xadd: after.xadd - before.xadd };
  };
  /** No heartbeat script calls during a test that counts script calls. */
  const QUIET: RedisStoresOptions = { heartbeatMs: 60_000, nodeTtlMs: 120_000 };
  const make = async (options: RedisStoresOptions = {}): Promise<RedisStores> => {
    const s = await createRedisStores({ url: server.url, heartbeatMs: HEARTBEAT_MS, nodeTtlMs: NODE_TTL_MS, eventLog: { maxEvents: MAX_EVENTS }, logger, ...options });
    open.push(s);
    return s;
  };

  before(async () => {
    server = await startRedisServer();
  });

  after(async () => {
    await Promise.all(open.map((s) => s.close()));
    await server?.stop();
  });

  defineStoreContract('redis', () => make(), {
    maxEvents: MAX_EVENTS,
    multiNode: true,
    nodeTtlMs: NODE_TTL_MS,
    crash: (s) => (s as RedisStores).crash(),
  });

  describe('redis only', () => {
    test('createRedisStores fails clearly, naming REDIS_URL, when Redis cannot be reached', async () => {
      const port = await freePort();
      const started = Date.now();
      await assert.rejects(
        createRedisStores({ url: `redis://:secret@127.0.0.1:${port}/0`, connectTimeoutMs: 400, logger }),
        (err: Error) => {
          assert.match(err.message, /REDIS_URL/);
          assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
          assert.doesNotMatch(err.message, /secret/);
          return true;
        },
      );
      assert.ok(Date.now() - started < 3_000, 'failed within the connect timeout');
    });

    test('createRedisStores fails within connectTimeoutMs when Redis takes the connections but does not answer the first heartbeat (500 ms, and the default)', async () => {
      // CLIENT PAUSE … WRITE holds every script (what a failover does for a moment): connecting and the
      // ready check (INFO) still work.
      const admin = new Redis(server.url, redisOptions('commands', 'test-admin'));
      await admin.client('PAUSE', '30000', 'WRITE');
      try {
        for (const connectTimeoutMs of [500, undefined]) {
          const expected = connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
          const started = Date.now();
          await assert.rejects(createRedisStores({ url: server.url, connectTimeoutMs, logger }), (err: Error) => {
            assert.match(err.message, /REDIS_URL/);
            assert.match(err.message, new RegExp(`did not take this node's heartbeat: no answer within ${expected} ms`));
            return true;
          });
          assert.ok(Date.now() - started < expected + 4_500, `failed after ${Date.now() - started} ms`);
        }
      } finally {
        await admin.client('UNPAUSE');
        await admin.quit();
      }
    });

    test('append never touches Redis; a tick\'s messages go out as one entry per (session, stream) batch, in one script call', async () => {
      const s = await make({ ...QUIET, eventLog: { maxEvents: 1_000 } });
      const log = s.eventLogs.create(randomUUID());
      const before = await commandCalls(s.redis);
      for (let i = 1; i <= 500; i++) {
        log.append('g', m(i));
        log.append('1', m(i));
      }
      await log.flushed();
      const afterStats = await commandCalls(s.redis);
      assert.equal(afterStats.scripts - before.scripts, 1, 'script calls');
      assert.equal(afterStats.xadd - before.xadd, 2, 'XADD calls: one entry per stream');
      // A resume on the node that wrote the stream is served from its ring: no Redis read.
      const r = log.replay('g', 450);
      if (r instanceof Promise) assert.fail('a resume on the writing node must be answered synchronously, from the ring');
      assert.equal(r.events.length, 50);
      const end = await commandCalls(s.redis);
      assert.equal(end.xrange - afterStats.xrange, 0, 'XRANGE calls');
      log.close();
    });

    test('several sessions flushed in one tick share one script call', async (t) => {
      const { logs, redis, scripts, xadd } = await flushSessionsInOneTick(t, 50);
      assert.equal(scripts, 1, 'script calls');
      assert.equal(xadd, 50, 'XADD calls: one entry per session');
      // Another node's view of the same logs (a log object with nothing of its own: it reads Redis).
      const other = new RedisEventLogFactory({ redis });
      for (const log of logs) {
        const l = other.create(log.sessionId);
        assert.deepEqual(await l.replay('g', 0), { events: [{ seq: 1, text: m(1) }], lostResponses: [] });
      }
    });

    test('a batch Redis refuses is retried on its own; the others of its script call are in, once', async () => {
      const errors: string[] = [];
      const s = await make({ logger: { warn: () => {}, error: (_obj, msg) => errors.push(msg) } });
      const good = s.eventLogs.create(randomUUID());
      const bad = s.eventLogs.create(randomUUID());
      // Its log key holds a string: its XADD fails inside the shared script call.
      await s.redis.set(`rmcp:s:${bad.sessionId}:log`, 'not a stream');
      good.append('g', m(1));
      bad.append('g', m(1));
      // Both flushed in the same turn: one script call carries both batches.
      const goodWritten = good.flushed();
      bad.flushed().catch(() => {});
      await goodWritten;
      const other = await make();
      assert.deepEqual(await other.eventLogs.create(good.sessionId).replay('g', 0), { events: [{ seq: 1, text: m(1) }], lostResponses: [] });
      assert.equal(await s.redis.xlen(`rmcp:s:${good.sessionId}:log`), 1, 'written once, not again with the refused one');
      await waitUntil(() => errors.some((e) => e.includes('could not write events to the Redis log; retrying')), 'the refused batch retried on its own, saying so');
      bad.close();
    });

    test('thousands of sessions in one tick go out in a few script calls of bounded size, each entry once', async (t) => {
      const { logs, scripts, xadd } = await flushSessionsInOneTick(t, 2_000);
      // 12 arguments per one-stream batch, at most 10,000 per call: 833 + 833 + 334 sessions.
      assert.equal(scripts, 3, 'script calls');
      assert.equal(xadd, 2_000, 'XADD calls: one entry per session');
      for (const log of logs) log.close();
    });

    test('bounded by bytes too: the Redis log keeps about maxBytes', async () => {
      const s = await make({ eventLog: { maxEvents: 10_000, maxBytes: 2_000 } });
      const log = s.eventLogs.create(randomUUID());
      const text = 'x'.repeat(100);
      for (let i = 0; i < 200; i++) {
        log.append('g', text);
        if (i % 4 === 3) await log.flushed();
      }
      await log.flushed();
      log.append('g', text);
      await log.flushed();
      const entries = await s.redis.xrange(`rmcp:s:${log.sessionId}:log`, '-', '+');
      const bytes = entries.reduce((n, [, f]) => n + f[f.indexOf('d') + 1]!.length, 0);
      assert.ok(bytes >= 2_000 - 400 && bytes <= 2_000 + 800, `kept ${bytes} bytes`);
      const { events } = await s.eventLogs.create(log.sessionId).replay('g', 0);
      assert.equal(events[events.length - 1]!.seq, 201);
    });

    test('keys expire after the session TTL unless touched; touch keeps every key of the session', async () => {
      const s = await make({ sessionTtlMs: 600, touchIntervalMs: 50 });
      const r = record(s.nodes.id);
      await s.sessions.create(r);
      s.sessions.recordCalls(r.id, new Map([[1, { requestId: 1, node: s.nodes.id, tool: 't', lastProgress: null, total: null }]]));
      const log = s.eventLogs.create(r.id);
      log.append('g', m(1));
      log.append('g', '{"result":1}', 5);
      await log.flushed();
      assert.equal((await s.sessions.calls(r.id)).length, 1);
      const keys = [`rmcp:s:${r.id}`, `rmcp:s:${r.id}:calls`, `rmcp:s:${r.id}:log`, `rmcp:s:${r.id}:seq`, `rmcp:s:${r.id}:undelivered`];
      for (const k of keys) assert.ok((await s.redis.pttl(k)) > 0, `${k} has a TTL`);
      for (let i = 0; i < 10; i++) {
        s.sessions.touch(r.id);
        await sleep(100);
      }
      assert.ok(await s.sessions.get(r.id), 'touched for 1 s with a 600 ms TTL: still there');
      assert.equal(await s.redis.exists(...keys), keys.length);
      await eventually(async () => assert.equal(await s.redis.exists(...keys), 0), 3_000);
      assert.equal(await s.sessions.get(r.id), undefined);
    });

    test('touch is batched: one expiry refresh per touched session per interval', async () => {
      const s = await make({ touchIntervalMs: 200 });
      const r = record(s.nodes.id);
      await s.sessions.create(r);
      const before = await commandCalls(s.redis);
      for (let i = 0; i < 1_000; i++) s.sessions.touch(r.id);
      await sleep(350);
      const afterStats = await commandCalls(s.redis);
      assert.equal(afterStats.pexpire - before.pexpire, 5, 'one script call refreshing the 5 keys of the session');
    });

    test('a text with a newline switches the entry to lengths; retried and reordered writes are dropped on replay', async () => {
      const entries: Array<[string, string[]]> = [
        ['3-0', ['s', 'g', 'q', '1', 'd', 'a\nb\nc']],
        ['5-0', ['s', 'g', 'q', '4', 'd', 'line\nx', 'l', '5,1']],
        ['6-0', ['s', 'h', 'q', '1', 'd', 'other']],
        ['8-0', ['s', 'g', 'q', '1', 'd', 'a\nb\nc']], // written twice (a retry after a lost reply)
        ['9-0', ['s', 'g', 'q', '7', 'd', 'g7']], // ahead of the entry below (reordered)
        ['10-0', ['s', 'g', 'q', '6', 'd', 'f6']],
      ];
      assert.deepEqual(decodeEvents(entries, 'g', 1), [
        { seq: 2, text: 'b' },
        { seq: 3, text: 'c' },
        { seq: 4, text: 'line\n' },
        { seq: 5, text: 'x' },
        { seq: 6, text: 'f6' },
        { seq: 7, text: 'g7' },
      ]);
      assert.deepEqual(decodeEvents(entries, 'h', 0), [{ seq: 1, text: 'other' }]);
      assert.deepEqual(decodeEvents(entries, 'g', 7), []);
    });

    test('a log whose counter was lost (seq hash gone, log kept) goes on after its newest entry', async () => {
      const s = await make();
      const log = s.eventLogs.create(randomUUID());
      for (let i = 1; i <= 5; i++) log.append('g', m(i));
      await log.flushed();
      await s.redis.del(`rmcp:s:${log.sessionId}:seq`);
      for (let i = 6; i <= 8; i++) log.append('g', m(i));
      await log.flushed();
      const other = s.eventLogs.create(log.sessionId);
      assert.deepEqual((await other.replay('g', 0)).events.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7, 8]);
    });

    test('healthy is false while Redis is down and true again after; the bus works again', async () => {
      const a = await make();
      const b = await make();
      const got: string[] = [];
      await b.bus.listen((msg) => got.push(msg.type));
      assert.equal(a.healthy, true);
      await server.kill();
      await eventually(async () => assert.equal(a.healthy, false));
      a.bus.publish(b.nodes.id, { type: 'while-down' }); // dropped, never thrown
      await server.start();
      await eventually(async () => assert.equal(a.healthy && b.healthy, true), 5_000);
      await eventually(async () => {
        a.bus.publish(b.nodes.id, { type: 'after' });
        await sleep(30);
        assert.equal(got.includes('after'), true, 'received after the restart');
      }, 5_000);
      // (A message published while Redis was down may be dropped — pub/sub is at-most-once — or sent after
      // the reconnect; both are fine, and neither throws.)
    });

    test('Redis restarted under traffic: every appended message is replayable, every awaited update readable', async () => {
      const a = await make({ eventLog: { maxEvents: 1_000_000 } });
      const b = await make({ eventLog: { maxEvents: 1_000_000 } });
      const r = record(a.nodes.id);
      await a.sessions.create(r);
      const log = a.eventLogs.create(r.id);
      let appended = 0;
      let awaited = 0;
      let stop = false;
      const appender = (async () => {
        while (!stop) {
          for (let i = 0; i < 20; i++) log.append('g', m(++appended));
          await sleep(1);
        }
      })();
      const updater = (async () => {
        for (let i = 1; !stop; i++) {
          await a.sessions.update(r.id, { subscriptions: [`realtime://u${i}`] });
          a.sessions.recordCalls(r.id, new Map([[1, { requestId: 1, node: a.nodes.id, tool: 't', lastProgress: i, total: null }]]));
          awaited = i;
        }
      })();
      await sleep(150);
      const beforeRestart = appended;
      await server.restart({ downMs: 300 });
      await sleep(200);
      stop = true;
      await Promise.all([appender, updater]);
      assert.ok(appended > beforeRestart + 100, 'appends went on during and after the restart');
      const lb = b.eventLogs.create(r.id);
      await eventually(async () => {
        await lb.open();
        assert.equal(lb.lastSeq('g'), appended);
      }, 10_000);
      const { events } = await lb.replay('g', 0);
      assert.equal(events.length, appended);
      events.forEach((e, i) => assert.deepEqual(e, { seq: i + 1, text: m(i + 1) }));
      assert.deepEqual((await b.sessions.get(r.id))!.subscriptions, [`realtime://u${awaited}`]);
      await eventually(async () => assert.equal((await b.sessions.calls(r.id))[0]!.lastProgress, awaited));
    });

    test('Redis restarted empty (no persistence): no crash, and new writes work', async () => {
      const a = await make();
      const r = record(a.nodes.id);
      await a.sessions.create(r);
      const log = a.eventLogs.create(r.id);
      log.append('g', m(1));
      await log.flushed();
      await server.restart({ keepData: false, downMs: 100 });
      log.append('g', m(2));
      await log.flushed();
      assert.equal(await a.sessions.get(r.id), undefined, 'the record went with the data');
      await a.sessions.create(r);
      assert.deepEqual(await a.sessions.get(r.id), r);
      const other = (await make()).eventLogs.create(r.id);
      assert.deepEqual((await other.replay('g', 0)).events, [{ seq: 2, text: m(2) }]);
      await eventually(async () => assert.equal(await a.nodes.isAlive(a.nodes.id), true), 2_000); // the heartbeat comes back
    });

    test('a bus handler that throws does not stop the others', async () => {
      const s = await make();
      const got: string[] = [];
      await s.bus.listen(() => {
        throw new Error('handler bug');
      });
      await s.bus.listen((msg) => got.push(msg.type));
      s.bus.publish(s.nodes.id, { type: 'still' });
      await eventually(async () => assert.deepEqual(got, ['still']));
    });

    test('close() writes what was appended, then stops everything: the process could exit', async () => {
      const s = await createRedisStores({ url: server.url, logger });
      s.sessions.touch(randomUUID());
      s.cluster.publish({ node: s.nodes.id, at: 1, stats: {}, operations: [] });
      const log = s.eventLogs.create(randomUUID());
      for (let i = 1; i <= 100; i++) log.append('g', m(i));
      await s.close();
      const other = (await make()).eventLogs.create(log.sessionId);
      assert.equal((await other.replay('g', 0)).events.length, 100, 'the last tick\'s events reached Redis');
      assert.equal(s.healthy, false);
      assert.equal(s.redis.status, 'end');
      await s.close(); // twice is fine
    });

    test('close() while Redis is away (between reconnect attempts) returns within its bound, and the node stops reconnecting', async () => {
      // A shutdown during a Redis restart: ioredis emits no 'end' for a client that has no connection to
      // close, and close() once waited for it forever (a test file that never exited).
      const s = await createRedisStores({ url: server.url, logger });
      const log = s.eventLogs.create(randomUUID());
      await server.kill();
      try {
        await waitUntil(() => s.redis.status === 'reconnecting', 'the command connection waiting to reconnect');
        log.append('g', m(1)); // a write that cannot be made
        s.sessions.touch(log.sessionId);
        const started = Date.now();
        await within(s.close(), 'close() during a Redis outage', 20_000);
        assert.ok(Date.now() - started < 15_000, `close() took ${Date.now() - started} ms`);
      } finally {
        await server.start();
      }
      // Longer than the longest reconnect delay: a node still trying would be connected by now.
      const probe = new Redis(server.url, redisOptions('commands', 'test-probe'));
      await sleep(RECONNECT_CAP_MS + 1_000);
      const clients = (await probe.client('LIST')) as string;
      await probe.quit();
      assert.doesNotMatch(clients, new RegExp(`name=rmcp-${s.nodes.id}-`), 'no connection of the closed node');
    });

    test('advance: the next event is numbered after a position the log never stored, for every node', async () => {
      // A node killed between writing frames to its client and storing them leaves the log behind the
      // client: the node that takes over continues after the client's count (Outbox.endTakeover).
      const [a, b] = [await make(), await make()];
      const id = randomUUID();
      const la = a.eventLogs.create(id);
      for (let i = 1; i <= 5; i++) la.append('g', m(i));
      await la.flushed();
      const lb = b.eventLogs.create(id);
      await lb.open!();
      assert.equal(lb.lastSeq('g'), 5);
      lb.advance!('g', 9); // the client had 9 frames
      assert.equal(lb.lastSeq('g'), 9);
      lb.advance!('g', 7); // never backwards
      assert.equal(lb.append('g', m(10)), 10);
      await lb.flushed();
      assert.deepEqual(await lb.replay('g', 9), { events: [{ seq: 10, text: m(10) }], lostResponses: [] });
      // Stored: a third reader continues from there too, and sees the events that exist.
      const lc = (await make()).eventLogs.create(id);
      await lc.open!();
      assert.equal(lc.lastSeq('g'), 10);
      assert.deepEqual((await lc.replay('g', 3)).events.map((e) => e.seq), [4, 5, 10]);
      // An advance with nothing appended after it is stored as well.
      lc.advance!('g', 20);
      await lc.flushed();
      const ld = (await make()).eventLogs.create(id);
      await ld.open!();
      assert.equal(ld.lastSeq('g'), 20);
    });

    test('peek reads the stored events without settling lost responses (a later replay still reports them)', async () => {
      const s = await make({ eventLog: { maxEvents: 3 } });
      const id = randomUUID();
      const log = s.eventLogs.create(id);
      log.append('g', '{"id":"r1","result":{}}', 'r1'); // a response nobody received
      for (let i = 1; i <= 5; i++) log.append('g', m(i)); // pushes it out of the bounded log
      const peeked = await log.peek!('g');
      assert.deepEqual(peeked.map((e) => e.seq), [4, 5, 6]);
      const other = (await make({ eventLog: { maxEvents: 3 } })).eventLogs.create(id);
      assert.deepEqual((await other.replay('g', 0)).lostResponses, ['r1'], 'still reported by the replay after the peek');
    });

    test('nothing ended in an unhandled rejection', () => {
      assert.deepEqual(unhandled, [], logs.join('\n'));
    });
  });
}

async function commandCalls(redis: Redis): Promise<{ scripts: number; xadd: number; xrange: number; pexpire: number }> {
  const info = await redis.info('commandstats');
  const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
  return { scripts: calls('evalsha') + calls('eval'), xadd: calls('xadd'), xrange: calls('xrange'), pexpire: calls('pexpire') };
}

function record(owner: string): SessionRecord {
  return { id: randomUUID(), kind: 'streamable', principal: { subject: 's', scopes: [] }, protocolVersion: '2025-11-25', clientInfo: undefined, clientCapabilities: {}, logLevel: undefined, initialized: true, subscriptions: [], owner, createdAt: Date.now() };
}

function m(i: number): string {
  return JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 't', progress: i } });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export type { Stores };
