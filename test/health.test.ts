// /healthz and /readyz with real curl, and HTTP requests that are not WebSocket upgrades.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from './helpers/server.js';
import { curl, curlStatus } from './helpers/curl.js';
import { openRaw } from './helpers/raw-ws.js';

describe('health endpoints', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  test('curl -s /healthz prints exactly {"status":"ok"}', async () => {
    const out = await curl(['-s', `${server.httpUrl}/healthz`]);
    assert.equal(out.exitCode, 0);
    assert.equal(out.stdout, '{"status":"ok"}');
    assert.equal(await curlStatus(`${server.httpUrl}/healthz`), 200);
  });

  test('/healthz is JSON', async () => {
    const out = await curl(['-s', '-o', '/dev/null', '-w', '%{content_type}', `${server.httpUrl}/healthz`]);
    assert.match(out.stdout, /^application\/json/);
  });

  test('/readyz answers 200 while serving', async () => {
    assert.equal(await curlStatus(`${server.httpUrl}/readyz`), 200);
    const out = await curl(['-s', `${server.httpUrl}/readyz`]);
    assert.equal(JSON.parse(out.stdout).status, 'ready');
  });

  test('an unknown path gives 404', async () => {
    assert.equal(await curlStatus(`${server.httpUrl}/no-such-path`), 404);
    assert.equal(await curlStatus(`${server.httpUrl}/mcp/ws/extra`), 404);
  });

  test('a plain GET on /mcp/ws (no upgrade) is refused and nothing breaks', async () => {
    const status = await curlStatus(`${server.httpUrl}/mcp/ws`);
    assert.ok(status >= 400 && status < 500, `expected a 4xx, got ${status}`);
    assert.equal(server.app.mcp.sessions.size, 0, 'no session was created');
    // The server still serves HTTP and WebSocket clients.
    assert.equal((await curl(['-s', `${server.httpUrl}/healthz`])).stdout, '{"status":"ok"}');
    const c = await openRaw(server.wsUrl);
    try {
      await c.initialize();
      c.send({ jsonrpc: '2.0', id: 'e', method: 'tools/call', params: { name: 'echo', arguments: { message: 'ok' } } });
      assert.deepEqual((await c.waitFor((m) => m.id === 'e')).result.content, [{ type: 'text', text: 'ok' }]);
    } finally {
      c.close();
      await c.closed;
    }
  });
});
