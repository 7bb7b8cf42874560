// Live data as resources (issue 6 item 7), with the MCP SDK's own client over WebSocket and Streamable
// HTTP: `realtime://operations` and `realtime://server/stats` are listed and read as JSON with the right
// counts; a subscriber gets `notifications/resources/updated` while a process_batch call runs on another
// session, and none after unsubscribing; with JWT auth a principal without `admin` sees (and is told
// about) only its own calls, while an admin sees everyone's.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startServer, type TestServer } from './helpers/server.js';
import { connectSdkClient, installWebSocketGlobal, type TransportName } from './helpers/sdk-client.js';
import { bearer, hsToken, randomSecret, TEST_ISSUER } from './helpers/tokens.js';
import type { Config } from '../src/config.js';
import { waitUntil } from './helpers/wait.js';

const OPERATIONS = 'realtime://operations';
const STATS = 'realtime://server/stats';

/** A server of its own per test: counts and the recent-operations ring start empty. */
async function serverFor(t: TestContext, config: Partial<Config> = {}): Promise<TestServer> {
  const server = await startServer({ config });
  t.after(() => server.close());
  return server;
}

function urlOf(server: TestServer, kind: TransportName): string {
  return kind === 'ws' ? server.wsUrl : `${server.httpUrl}/mcp`;
}

/** An SDK client that records the URI of every resources/updated it receives. */
async function watchingClient(t: TestContext, url: string): Promise<{ client: Client; updates: string[] }> {
  const client = await connectSdkClient(url);
  t.after(() => client.close());
  const updates: string[] = [];
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
    updates.push(n.params.uri);
  });
  return { client, updates };
}

async function readJson(client: Client, uri: string): Promise<any> {
  const { contents } = await client.readResource({ uri });
  assert.equal(contents.length, 1);
  assert.equal(contents[0]!.uri, uri);
  assert.equal(contents[0]!.mimeType, 'application/json');
  const first = contents[0]!;
  assert.ok('text' in first, 'a text resource');
  return JSON.parse(first.text);
}


const count = (updates: string[], uri: string) => updates.filter((u) => u === uri).length;

for (const kind of ['ws', 'streamable'] as const) {
  describe(`live resources over ${kind} with the SDK client`, () => {
    test('lists both resources as JSON and announces resources.subscribe', async (t) => {
      const server = await serverFor(t);
      const { client } = await watchingClient(t, urlOf(server, kind));
      assert.deepEqual(client.getServerCapabilities()?.resources, { subscribe: true, listChanged: false });
      const { resources } = await client.listResources();
      const live = resources.filter((r) => r.uri.startsWith('realtime://')).map((r) => [r.uri, r.mimeType]).sort();
      assert.deepEqual(live, [[OPERATIONS, 'application/json'], [STATS, 'application/json']]);
    });

    test('server/stats counts sessions per transport and tells a subscriber when a second client connects', async (t) => {
      const server = await serverFor(t);
      const first = await watchingClient(t, urlOf(server, kind));
      const before = await readJson(first.client, STATS);
      assert.equal(before.sessions[kind], 1);
      assert.equal(before.sessions.total, 1);
      assert.equal(before.sessions.detached, 0);
      assert.deepEqual(before.calls, { running: 0, queued: 0, queuedSessions: 0 });
      assert.ok(before.uptimeMs >= 0 && before.memory.rssBytes > 0);
      assert.ok(!Number.isNaN(Date.parse(before.startedAt)));

      await first.client.subscribeResource({ uri: STATS });
      await watchingClient(t, urlOf(server, kind));
      await waitUntil(() => count(first.updates, STATS) >= 1, 'resources/updated for the stats');
      const after = await readJson(first.client, STATS);
      assert.equal(after.sessions[kind], 2);
      assert.equal(after.sessions.total, 2);
    });

    test('a subscriber to operations is told while process_batch runs on another session; a read shows it running', async (t) => {
      const server = await serverFor(t);
      const watcher = await watchingClient(t, urlOf(server, kind));
      const worker = await watchingClient(t, urlOf(server, kind));
      await watcher.client.subscribeResource({ uri: OPERATIONS });
      // Without auth every session is the anonymous principal: "own" calls are everyone's.
      assert.deepEqual(await readJson(watcher.client, OPERATIONS), { scope: 'own', operations: [] });

      let progress = 0;
      let updatesBeforeResult = -1;
      const call = worker.client
        .callTool({ name: 'process_batch', arguments: { count: 40, delayMs: 25 } }, undefined, { onprogress: (p) => (progress = p.progress) })
        .then((r) => {
          updatesBeforeResult = count(watcher.updates, OPERATIONS);
          return r;
        });
      await waitUntil(() => count(watcher.updates, OPERATIONS) >= 1 && progress >= 2, 'an update and some progress');
      const during = await readJson(watcher.client, OPERATIONS);
      assert.equal(during.operations.length, 1);
      const op = during.operations[0];
      assert.equal(op.tool, 'process_batch');
      assert.equal(op.state, 'running');
      assert.equal(op.transport, kind);
      assert.equal(op.principal, 'anonymous');
      assert.equal(op.total, 40);
      assert.ok(op.progress >= 2 && op.progress <= 40, `progress ${op.progress}`);
      assert.equal(op.session.length, 8);
      assert.equal(op.endedAt, null);
      assert.ok(!Number.isNaN(Date.parse(op.startedAt)));

      const result = await call;
      assert.equal(result.isError, undefined);
      assert.ok(updatesBeforeResult >= 1, 'notified while the call ran');
      // The call's end is an update too, and the read lists it as done.
      await waitUntil(() => count(watcher.updates, OPERATIONS) > updatesBeforeResult, 'the update for the end of the call');
      const done = (await readJson(watcher.client, OPERATIONS)).operations;
      assert.equal(done.length, 1);
      assert.equal(done[0].state, 'done');
      assert.equal(done[0].progress, 40);
      assert.equal(done[0].requestId, op.requestId);
      assert.ok(done[0].rate > 0);
      assert.ok(Date.parse(done[0].endedAt) >= Date.parse(done[0].startedAt));
    });

    test('after unsubscribe no more updates arrive, while a still-subscribed session keeps getting them', async (t) => {
      const server = await serverFor(t);
      const leaver = await watchingClient(t, urlOf(server, kind));
      const stayer = await watchingClient(t, urlOf(server, kind));
      const worker = await watchingClient(t, urlOf(server, kind));
      await leaver.client.subscribeResource({ uri: OPERATIONS });
      await stayer.client.subscribeResource({ uri: OPERATIONS });
      await worker.client.callTool({ name: 'process_batch', arguments: { count: 3, delayMs: 5 } });
      await waitUntil(() => count(leaver.updates, OPERATIONS) >= 1, 'an update before unsubscribing');

      await leaver.client.unsubscribeResource({ uri: OPERATIONS });
      const left = leaver.updates.length;
      const stayerBefore = count(stayer.updates, OPERATIONS);
      await worker.client.callTool({ name: 'process_batch', arguments: { count: 20, delayMs: 25 } });
      // The stayer hears about the second call (its start or progress, and its end) ...
      await waitUntil(async () => (await readJson(stayer.client, OPERATIONS)).operations.filter((o: any) => o.state === 'done').length === 2, 'both calls done');
      await waitUntil(() => count(stayer.updates, OPERATIONS) >= stayerBefore + 2, 'the stayer to be told about the second call');
      // ... the leaver does not.
      assert.equal(leaver.updates.length, left);
    });

    test('a call cancelled by its client is listed as cancelled', async (t) => {
      const server = await serverFor(t);
      const watcher = await watchingClient(t, urlOf(server, kind));
      const worker = await watchingClient(t, urlOf(server, kind));
      const controller = new AbortController();
      let progress = 0;
      const call = worker.client.callTool({ name: 'process_batch', arguments: { count: 10_000, delayMs: 5 } }, undefined, {
        signal: controller.signal,
        onprogress: (p) => (progress = p.progress),
      });
      await waitUntil(() => progress >= 1, 'progress');
      controller.abort('user pressed stop');
      await assert.rejects(call);
      let ops: any[] = [];
      await waitUntil(async () => (ops = (await readJson(watcher.client, OPERATIONS)).operations)[0]?.state === 'cancelled', 'the call listed as cancelled');
      assert.equal(ops.length, 1);
      assert.ok(ops[0].progress >= 1 && ops[0].progress < 10_000);
      assert.equal(typeof ops[0].reason, 'string');
    });
  });
}

describe('live resources with JWT auth: who sees which operations', () => {
  test('a principal without admin sees and hears only its own calls; admin sees all', async (t) => {
    const secret = randomSecret();
    const server = await serverFor(t, { AUTH_MODE: 'jwt', JWT_SECRET: secret, JWT_ISSUER: TEST_ISSUER });
    const token = (sub: string, scope?: string) =>
      hsToken(secret, { audience: `${server.httpUrl}/mcp`, issuer: TEST_ISSUER, claims: { sub, ...(scope && { scope }) } });
    const as = async (sub: string, scope?: string) => {
      installWebSocketGlobal(bearer(await token(sub, scope)));
      try {
        return await watchingClient(t, server.wsUrl);
      } finally {
        installWebSocketGlobal({});
      }
    };
    const alice = await as('alice');
    const bob = await as('bob');
    const root = await as('root', 'admin');
    await bob.client.subscribeResource({ uri: OPERATIONS });
    await root.client.subscribeResource({ uri: OPERATIONS });

    let progress = 0;
    const call = alice.client.callTool({ name: 'process_batch', arguments: { count: 30, delayMs: 20 } }, undefined, { onprogress: (p) => (progress = p.progress) });
    await waitUntil(() => count(root.updates, OPERATIONS) >= 1 && progress >= 1, 'the admin to be told about the call');

    assert.deepEqual(await readJson(bob.client, OPERATIONS), { scope: 'own', operations: [] });
    const own = await readJson(alice.client, OPERATIONS);
    assert.equal(own.scope, 'own');
    assert.deepEqual(own.operations.map((o: any) => [o.principal, o.tool, o.state]), [['alice', 'process_batch', 'running']]);
    const everyone = await readJson(root.client, OPERATIONS);
    assert.equal(everyone.scope, 'all');
    assert.deepEqual(everyone.operations.map((o: any) => [o.principal, o.tool]), [['alice', 'process_batch']]);

    await call;
    await waitUntil(async () => (await readJson(root.client, OPERATIONS)).operations[0]?.state === 'done', 'the call done for the admin');
    // The timer stops only after a tick that found nothing more to tell; a ping then flushes the socket.
    await waitUntil(() => !server.app.mcp.live.ticking, 'the live timer to stop');
    await Promise.all([root.client.ping(), bob.client.ping()]);
    assert.ok(count(root.updates, OPERATIONS) >= 2, 'the admin heard about the start and the end');
    // Bob subscribed the whole time, yet his view never changed: not one notification.
    assert.equal(bob.updates.length, 0);
    assert.deepEqual((await readJson(bob.client, OPERATIONS)).operations, []);
    // Stats are server-wide counts, the same for everyone.
    assert.equal((await readJson(bob.client, STATS)).sessions.ws, 3);
  });
});
