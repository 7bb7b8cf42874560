// Push to every session: POST /admin/notify sends `notifications/message` to each session on each
// transport (WebSocket, legacy SSE, Streamable HTTP; the SDK's own client transports) and answers
// { delivered }. It needs the admin scope (JWT); without auth only with ADMIN_ROUTES_WITHOUT_AUTH=true.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { LoggingMessageNotificationSchema, type LoggingMessageNotification } from '@modelcontextprotocol/sdk/types.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startServer, type TestServer } from './helpers/server.js';
import { connectSdkClient, installWebSocketGlobal } from './helpers/sdk-client.js';
import { openRaw } from './helpers/raw-ws.js';
import { bearer, hsToken, randomSecret, TEST_ISSUER } from './helpers/tokens.js';
import { waitUntil } from './helpers/wait.js';

function notify(server: TestServer, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.httpUrl}/admin/notify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** An SDK client that collects every notifications/message it receives. */
async function listeningClient(url: string): Promise<{ client: Client; messages: LoggingMessageNotification['params'][] }> {
  const client = await connectSdkClient(url);
  const messages: LoggingMessageNotification['params'][] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    messages.push(n.params);
  });
  return { client, messages };
}


describe('POST /admin/notify without authentication (ADMIN_ROUTES_WITHOUT_AUTH=true)', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ config: { ADMIN_ROUTES_WITHOUT_AUTH: true } });
  });
  after(() => server.close());

  test('reaches a WebSocket, an SSE and a Streamable HTTP session', async () => {
    const ws = await listeningClient(server.wsUrl);
    const sse = await listeningClient(`${server.httpUrl}/mcp/sse`);
    const streamable = await listeningClient(`${server.httpUrl}/mcp`);
    try {
      assert.deepEqual(server.app.mcp.sessions.count().byTransport, { ws: 1, sse: 1, streamable: 1, stdio: 0 });
      const res = await notify(server, { message: 'Server will restart in 5 minutes', level: 'warning' });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { delivered: 3 });
      const expected = { level: 'warning', logger: 'realtime-mcp', data: 'Server will restart in 5 minutes' };
      for (const [name, c] of Object.entries({ ws, sse, streamable })) {
        await waitUntil(() => c.messages.length === 1, `the ${name} client to receive the message`);
        assert.deepEqual(c.messages, [expected], name);
      }
      // The default level is notice.
      assert.deepEqual(await (await notify(server, { message: 'hello all' })).json(), { delivered: 3 });
      await waitUntil(() => ws.messages.length === 2 && sse.messages.length === 2 && streamable.messages.length === 2, 'the second message');
      assert.equal(streamable.messages[1]!.level, 'notice');
    } finally {
      // The SDK's close() leaves a Streamable HTTP session open on the server; DELETE it.
      await (streamable.client.transport as StreamableHTTPClientTransport).terminateSession();
      await Promise.all([ws.client.close(), sse.client.close(), streamable.client.close()]);
    }
  });

  test('respects each session\'s logging/setLevel: a session at "error" neither gets nor counts a notice', async () => {
    // A server of its own: HTTP sessions of the previous test stay until their idle timeout.
    const server = await startServer({ config: { ADMIN_ROUTES_WITHOUT_AUTH: true } });
    const quiet = await openRaw(server.wsUrl);
    const loud = await openRaw(server.wsUrl);
    try {
      await Promise.all([quiet.initialize(), loud.initialize()]);
      quiet.send({ jsonrpc: '2.0', id: 1, method: 'logging/setLevel', params: { level: 'error' } });
      await quiet.waitFor((m) => m.id === 1);
      assert.deepEqual(await (await notify(server, { message: 'minor', level: 'notice' })).json(), { delivered: 1 });
      assert.deepEqual(await (await notify(server, { message: 'major', level: 'error' })).json(), { delivered: 2 });
      const first = await quiet.waitFor((m) => m.method === 'notifications/message');
      assert.equal(first.params.data, 'major');
      assert.equal((await loud.waitFor((m) => m.method === 'notifications/message')).params.data, 'minor');
      assert.equal((await loud.waitFor((m) => m.method === 'notifications/message')).params.data, 'major');
    } finally {
      quiet.close();
      loud.close();
      await server.close();
    }
  });

  test('a bad body is refused with 400', async () => {
    assert.equal((await notify(server, {})).status, 400);
    assert.equal((await notify(server, { message: '' })).status, 400);
    assert.equal((await notify(server, { message: 'x', level: 'loud' })).status, 400);
  });
});

describe('POST /admin/notify without authentication, by default', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  test('answers 403 insufficient_scope and sends nothing', async () => {
    const ws = await listeningClient(server.wsUrl);
    try {
      const res = await notify(server, { message: 'nope' });
      assert.equal(res.status, 403);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer error="insufficient_scope".*scope="admin"/);
      assert.equal((await res.json()).error, 'insufficient_scope');
      // A ping round trip later, still nothing arrived.
      await ws.client.ping();
      assert.deepEqual(ws.messages, []);
    } finally {
      await ws.client.close();
    }
  });
});

describe('POST /admin/notify with JWT authentication', () => {
  const secret = randomSecret();
  let server: TestServer;
  let audience: string;
  before(async () => {
    // ADMIN_ROUTES_WITHOUT_AUTH has no effect once tokens are verified.
    server = await startServer({ config: { AUTH_MODE: 'jwt', JWT_SECRET: secret, JWT_ISSUER: TEST_ISSUER, ADMIN_ROUTES_WITHOUT_AUTH: true } });
    audience = `${server.httpUrl}/mcp`;
  });
  after(() => server.close());

  test('needs a token (401), with the admin scope (403), and then reaches the sessions', async () => {
    installWebSocketGlobal(bearer(await hsToken(secret, { audience, issuer: TEST_ISSUER, claims: { sub: 'user' } })));
    const ws = await listeningClient(server.wsUrl);
    installWebSocketGlobal({});
    try {
      assert.equal((await notify(server, { message: 'x' })).status, 401);

      const userToken = await hsToken(secret, { audience, issuer: TEST_ISSUER, claims: { scope: 'tools' } });
      const refused = await notify(server, { message: 'x' }, bearer(userToken));
      assert.equal(refused.status, 403);
      assert.match(refused.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
      assert.match(refused.headers.get('www-authenticate') ?? '', /scope="admin"/);

      const adminToken = await hsToken(secret, { audience, issuer: TEST_ISSUER, claims: { sub: 'ops', scope: 'admin' } });
      const ok = await notify(server, { message: 'Server will restart in 5 minutes', level: 'warning' }, bearer(adminToken));
      assert.equal(ok.status, 200);
      assert.deepEqual(await ok.json(), { delivered: 1 });
      await waitUntil(() => ws.messages.length === 1, 'the message');
      assert.equal(ws.messages[0]!.data, 'Server will restart in 5 minutes');
    } finally {
      await ws.client.close();
    }
  });
});
