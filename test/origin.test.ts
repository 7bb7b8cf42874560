// Origin and Host validation on MCP routes: a present but disallowed Origin, or a Host the server does
// not answer to (DNS rebinding), gets 403 before any upgrade; clients without Origin pass; health
// checks stay open.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { OriginPolicy } from '../src/auth/origin-policy.js';
import { startServer } from './helpers/server.js';
import { tryUpgrade } from './helpers/upgrade.js';

describe('OriginPolicy', () => {
  const loopback = new OriginPolicy({ bindHost: '127.0.0.1', allowedOrigins: '', allowedHosts: '', resourceUrl: '' });
  const listed = new OriginPolicy({ bindHost: '0.0.0.0', allowedOrigins: 'https://app.example.com', allowedHosts: 'mcp.example.com', resourceUrl: 'https://mcp.example.com/mcp' });
  const open = new OriginPolicy({ bindHost: '0.0.0.0', allowedOrigins: '', allowedHosts: '', resourceUrl: '' });
  const rows: Array<[string, OriginPolicy, 'origin' | 'host', string | undefined, boolean]> = [
    ['no Origin (curl, SDK in Node)', loopback, 'origin', undefined, true],
    ['loopback origin when bound to loopback', loopback, 'origin', 'http://localhost:5173', true],
    ['127.0.0.1 origin when bound to loopback', loopback, 'origin', 'http://127.0.0.1:3000', true],
    ['[::1] origin when bound to loopback', loopback, 'origin', 'http://[::1]:3000', true],
    ['foreign origin when bound to loopback', loopback, 'origin', 'https://evil.example', false],
    ['"null" origin', loopback, 'origin', 'null', false],
    ['garbage origin', loopback, 'origin', 'not a url', false],
    ['non-http origin', loopback, 'origin', 'file:///etc', false],
    ['listed origin', listed, 'origin', 'https://app.example.com', true],
    ['listed origin with an explicit default port', listed, 'origin', 'https://app.example.com:443', true],
    ['the resource\'s own origin', listed, 'origin', 'https://mcp.example.com', true],
    ['unlisted origin', listed, 'origin', 'https://app.example.com.evil.example', false],
    ['loopback origin when a list is set', listed, 'origin', 'http://localhost:5173', false],
    ['any origin on a public bind without a list', open, 'origin', 'https://app.example.com', false],
    ['loopback Host', loopback, 'host', '127.0.0.1:8080', true],
    ['localhost Host', loopback, 'host', 'localhost:8080', true],
    ['rebinding Host on loopback', loopback, 'host', 'evil.example:8080', false],
    ['missing Host', loopback, 'host', undefined, false],
    ['Host with userinfo', loopback, 'host', 'evil@127.0.0.1', false],
    ['listed Host', listed, 'host', 'mcp.example.com', true],
    ['unlisted Host', listed, 'host', 'other.example.com', false],
    ['any Host on a public bind without a list', open, 'host', 'whatever.example', true],
  ];
  for (const [name, policy, kind, value, allowed] of rows) {
    test(`${name}: ${allowed ? 'allowed' : 'refused'}`, () => {
      assert.equal(kind === 'origin' ? policy.originAllowed(value) : policy.hostAllowed(value), allowed);
    });
  }
});

describe('Origin and Host checks on a loopback server', () => {
  test('a disallowed Origin or Host gets 403 before the upgrade; allowed ones and no Origin connect', async (t) => {
    const server = await startServer();
    t.after(() => server.close());
    const evilOrigin = await tryUpgrade(server.wsUrl, { headers: { Origin: 'https://evil.example' } });
    assert.equal(evilOrigin.status, 403);
    assert.equal(evilOrigin.upgraded, false);
    const evilHost = await tryUpgrade(server.wsUrl, { headers: { Host: 'evil.example' } });
    assert.equal(evilHost.status, 403);
    assert.equal((await tryUpgrade(server.wsUrl, { headers: { Origin: `http://localhost:${server.port}` } })).status, 101);
    assert.equal((await tryUpgrade(server.wsUrl)).status, 101);
    const post = await fetch(`${server.httpUrl}/mcp`, { method: 'POST', headers: { Origin: 'https://evil.example', 'content-type': 'application/json' }, body: '{}' });
    assert.equal(post.status, 403);
    const sse = await fetch(`${server.httpUrl}/mcp/sse`, { headers: { Origin: 'https://evil.example' } });
    assert.equal(sse.status, 403);
    assert.equal((await fetch(`${server.httpUrl}/healthz`, { headers: { Origin: 'https://evil.example' } })).status, 200, 'health stays open');
  });

  test('ALLOWED_ORIGINS replaces the loopback default', async (t) => {
    const server = await startServer({ config: { ALLOWED_ORIGINS: 'https://app.example.com' } });
    t.after(() => server.close());
    assert.equal((await tryUpgrade(server.wsUrl, { headers: { Origin: 'https://app.example.com' } })).status, 101);
    assert.equal((await tryUpgrade(server.wsUrl, { headers: { Origin: `http://localhost:${server.port}` } })).status, 403);
  });
});
