// Fair queuing and limits: MAX_CONCURRENT_PER_SESSION / MAX_CONCURRENT_OPERATIONS, per-session FIFO
// queues served round-robin, the queue position reported through progress, cancelling a queued call,
// MAX_QUEUED_PER_SESSION, and queued calls dropped with their session. Real server, real clients; the
// tool below holds each call until the test releases it, so nothing depends on timing.
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import Type from 'typebox';
import { McpError, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { defineTool } from '../src/tools/define.js';
import { startServer, type TestServer } from './helpers/server.js';
import { connectSdkClient } from './helpers/sdk-client.js';
import { openRaw } from './helpers/raw-ws.js';
import { waitUntil } from './helpers/wait.js';

/** Tags of the calls whose handler started, in start order. */
let started: string[] = [];
/** Release a started call (it then returns `done <tag>`). */
const gates = new Map<string, () => void>();

const heldTool = defineTool({
  name: 'held',
  description: 'Starts, records its tag, and waits until the test releases it',
  inputSchema: Type.Object({ tag: Type.String() }),
  async handler({ tag }, ctx) {
    started.push(tag);
    await new Promise<void>((resolve, reject) => {
      gates.set(tag, resolve);
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
    });
    return `done ${tag}`;
  },
});

function release(tag: string): void {
  const open = gates.get(tag);
  assert.ok(open, `call ${tag} has not started`);
  gates.delete(tag);
  open();
}


describe('fair queuing and limits', () => {
  let server: TestServer;
  const runner = () => server.app.mcp.runner;
  before(async () => {
    server = await startServer({
      tools: [heldTool],
      config: { MAX_CONCURRENT_PER_SESSION: 4, MAX_CONCURRENT_OPERATIONS: 4, MAX_QUEUED_PER_SESSION: 16 },
    });
  });
  after(() => server.close());
  beforeEach(() => {
    started = [];
    gates.clear();
  });

  test('session B\'s one call starts before session A\'s fifth queued call, and B hears its queue position', async () => {
    const [a, b] = await Promise.all([connectSdkClient(server.wsUrl, 'a'), connectSdkClient(server.wsUrl, 'b')]);
    try {
      const progressA = new Map<string, Progress[]>();
      const callsA = Array.from({ length: 20 }, (_, i) => {
        const tag = `A${i + 1}`;
        progressA.set(tag, []);
        return a.callTool({ name: 'held', arguments: { tag } }, undefined, { onprogress: (p) => progressA.get(tag)!.push(p) });
      });
      await waitUntil(() => started.length === 4 && runner().queued === 16, 'A: 4 running, 16 queued');
      assert.deepEqual(started, ['A1', 'A2', 'A3', 'A4']);
      assert.equal(runner().running, 4);
      assert.equal(runner().queuedSessions, 1);

      const progressB: Progress[] = [];
      const callB = b.callTool({ name: 'held', arguments: { tag: 'B1' } }, undefined, { onprogress: (p) => progressB.push(p) });
      await waitUntil(() => progressB.length === 1, 'B\'s queue notice');
      assert.equal(progressB[0]!.progress, 0);
      assert.equal(progressB[0]!.message, 'queued: position 1');
      assert.equal(runner().queued, 17);
      assert.equal(runner().queuedSessions, 2);

      // Free one slot at a time, always the longest-running call.
      for (let i = 0; i < 21; i++) {
        await waitUntil(() => started.length > i, `call #${i + 1} to start`);
        release(started[i]!);
      }
      const results = await Promise.all([...callsA, callB]);
      assert.deepEqual(results.map((r) => (r.content as Array<{ text: string }>)[0]!.text), [
        ...Array.from({ length: 20 }, (_, i) => `done A${i + 1}`),
        'done B1',
      ]);

      // A's queued calls are A5..A20; its fifth queued call is A9.
      const startOfB = started.indexOf('B1');
      assert.ok(startOfB >= 0 && startOfB < started.indexOf('A9'), `B1 started at ${startOfB}: ${started.join(' ')}`);
      // Round-robin over [A's lane, B's lane]: the first freed slot goes to A5, the next to B1.
      assert.equal(startOfB, 5, started.join(' '));
      // A's own calls stay in the order they were sent.
      assert.deepEqual(started.filter((t) => t.startsWith('A')), Array.from({ length: 20 }, (_, i) => `A${i + 1}`));
      // Every queued call of A got its position; the ones that never waited got no notice.
      assert.deepEqual(progressA.get('A1'), []);
      assert.equal(progressA.get('A5')![0]!.message, 'queued: position 1');
      assert.equal(progressA.get('A20')![0]!.message, 'queued: position 16');
      assert.equal(runner().running, 0);
      assert.equal(runner().queued, 0);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('a full queue refuses the next call with -32030, and the queued calls still run', async () => {
    const client = await connectSdkClient(server.wsUrl);
    try {
      const calls = Array.from({ length: 20 }, (_, i) => client.callTool({ name: 'held', arguments: { tag: `Q${i + 1}` } }));
      await waitUntil(() => started.length === 4 && runner().queued === 16, '4 running, 16 queued');
      await assert.rejects(client.callTool({ name: 'held', arguments: { tag: 'one too many' } }), (err: unknown) => {
        assert.ok(err instanceof McpError);
        assert.equal(err.code, -32030);
        assert.match(err.message, /Too many calls queued: this session already has 16 calls waiting \(limit 16\)/);
        assert.deepEqual(err.data, { queued: 16, maxQueuedPerSession: 16 });
        return true;
      });
      for (let i = 0; i < 20; i++) {
        await waitUntil(() => started.length > i, `call #${i + 1} to start`);
        release(started[i]!);
      }
      assert.equal((await Promise.all(calls)).length, 20);
      assert.ok(!started.includes('one too many'));
    } finally {
      await client.close();
    }
  });

  test('a queued call can be cancelled: notifications/cancelled drops it unanswered, `cancel` answers it as cancelled', async () => {
    const client = await openRaw(server.wsUrl);
    try {
      await client.initialize();
      for (let i = 1; i <= 6; i++) {
        client.send({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'held', arguments: { tag: `C${i}` }, _meta: { progressToken: `t${i}` } } });
      }
      // C5 and C6 wait; each got its position.
      const notice5 = await client.waitFor((m) => m.method === 'notifications/progress' && m.params.progressToken === 't5');
      assert.deepEqual(notice5.params, { progressToken: 't5', progress: 0, message: 'queued: position 1', _meta: { queuePosition: 1, queuedCalls: 1 } });
      await client.waitFor((m) => m.method === 'notifications/progress' && m.params.progressToken === 't6');
      assert.equal(runner().queued, 2);

      client.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 5, reason: 'not needed' } });
      client.send({ jsonrpc: '2.0', id: 100, method: 'cancel', params: { requestId: 6 } });
      assert.deepEqual((await client.waitFor((m) => m.id === 100)).result, { cancelled: true });
      const cancelled6 = await client.waitFor((m) => m.id === 6);
      assert.deepEqual(cancelled6.result, { content: [{ type: 'text', text: 'Cancelled: cancelled by the client' }], isError: true });
      assert.equal(runner().queued, 0);

      for (const tag of ['C1', 'C2', 'C3', 'C4']) release(tag);
      for (const id of [1, 2, 3, 4]) await client.waitFor((m) => m.id === id);
      // A ping answered after everything else: C5 never got a response and neither handler ever ran.
      client.send({ jsonrpc: '2.0', id: 200, method: 'ping' });
      await client.waitFor((m) => m.id === 200);
      assert.equal(client.received.filter((m) => m.id === 5).length, 0);
      assert.deepEqual(started, ['C1', 'C2', 'C3', 'C4']);
    } finally {
      client.close();
    }
  });

  test('when a session ends, its queued calls are dropped and never start', async () => {
    const leaver = await openRaw(server.wsUrl);
    await leaver.initialize();
    for (let i = 1; i <= 10; i++) {
      leaver.send({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'held', arguments: { tag: `L${i}` } } });
    }
    await waitUntil(() => started.length === 4 && runner().queued === 6, '4 running, 6 queued');
    leaver.close();
    await leaver.closed;
    await waitUntil(() => runner().queued === 0 && runner().running === 0, 'the session\'s calls to be gone');
    assert.equal(server.app.mcp.runner.size, 0);

    // The server has its slots back: another session's call runs at once.
    const other = await connectSdkClient(server.wsUrl);
    try {
      const call = other.callTool({ name: 'held', arguments: { tag: 'after' } });
      await waitUntil(() => started.includes('after'), 'the next session\'s call to start');
      release('after');
      assert.deepEqual((await call).content, [{ type: 'text', text: 'done after' }]);
      assert.deepEqual(started, ['L1', 'L2', 'L3', 'L4', 'after']);
    } finally {
      await other.close();
    }
  });
});
