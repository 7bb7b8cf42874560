// Authentication at the door, with real tokens (HS256 with a secret; RS256 from a local JWKS server):
// every 401 case on every MCP route before any upgrade or body, the SDK client over each transport with
// a token, the browser-style subprotocol token, scopes, sessions bound to principals, RFC 9728
// metadata, startup rules, and logs that never contain a token.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { spawn } from 'node:child_process';
import Type from 'typebox';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { defineTool } from '../src/tools/define.js';
import { startServer, type TestServer } from './helpers/server.js';
import { connectSdkClient, installWebSocketGlobal } from './helpers/sdk-client.js';
import { openRaw } from './helpers/raw-ws.js';
import { tryUpgrade } from './helpers/upgrade.js';
import { spawnServer, startChildServer, stopChild } from './helpers/child-server.js';
import { bearer, hsToken, randomSecret, rsaKey, rsToken, startJwksServer, tamper, TEST_ISSUER, unsignedToken, type JwksServer, type RsaKey } from './helpers/tokens.js';

const deployTool = defineTool({
  name: 'deploy',
  description: 'Needs the deploy:write scope',
  inputSchema: Type.Object({}),
  scopes: ['deploy:write'],
  handler: () => 'deployed',
});

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '0' } } };

/** One request to each MCP route (the WebSocket upgrade separately). */
function httpAttempts(base: string): Array<{ route: string; send(headers: Record<string, string>, query?: string): Promise<Response> }> {
  const json = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  return [
    { route: 'GET /mcp/sse', send: (h, q = '') => fetch(`${base}/mcp/sse${q}`, { headers: { accept: 'text/event-stream', ...h } }) },
    { route: 'POST /mcp/messages', send: (h, q = '') => fetch(`${base}/mcp/messages${q || '?sessionId=x'}`, { method: 'POST', headers: { ...json, ...h }, body: JSON.stringify(INIT) }) },
    { route: 'POST /mcp', send: (h, q = '') => fetch(`${base}/mcp${q}`, { method: 'POST', headers: { ...json, ...h }, body: JSON.stringify(INIT) }) },
    { route: 'GET /mcp', send: (h, q = '') => fetch(`${base}/mcp${q}`, { headers: { accept: 'text/event-stream', ...h } }) },
    { route: 'DELETE /mcp', send: (h, q = '') => fetch(`${base}/mcp${q}`, { method: 'DELETE', headers: { 'mcp-session-id': 'x', ...h } }) },
  ];
}

function assertChallenge(header: string | undefined, server: TestServer, tokenSent: boolean, where: string): void {
  assert.ok(header, `${where}: no WWW-Authenticate`);
  assert.match(header, /^Bearer /, where);
  assert.ok(header.includes(`resource_metadata="${server.httpUrl}/.well-known/oauth-protected-resource/mcp"`), `${where}: ${header}`);
  assert.equal(header.includes('error="invalid_token"'), tokenSent, `${where}: ${header}`);
}

describe('HS256: every bad or missing token is refused with 401 on every MCP route', () => {
  const secret = randomSecret();
  let server: TestServer;
  let audience: string;
  before(async () => {
    server = await startServer({ config: { AUTH_MODE: 'jwt', JWT_SECRET: secret, JWT_ISSUER: TEST_ISSUER }, tools: [deployTool] });
    audience = `${server.httpUrl}/mcp`;
  });
  after(() => server.close());

  const good = () => hsToken(secret, { audience, issuer: TEST_ISSUER });
  const cases: Array<{ name: string; headers(): Promise<Record<string, string>>; query?: () => Promise<string>; tokenSent: boolean }> = [
    { name: 'no credentials', headers: async () => ({}), tokenSent: false },
    { name: 'another auth scheme (Basic)', headers: async () => ({ Authorization: 'Basic dXNlcjpwYXNz' }), tokenSent: false },
    { name: 'token only in the query string', headers: async () => ({}), query: async () => `?access_token=${await good()}`, tokenSent: false },
    { name: '"Bearer" with no token', headers: async () => ({ Authorization: 'Bearer' }), tokenSent: true },
    { name: '"Bearer a b"', headers: async () => ({ Authorization: 'Bearer a b' }), tokenSent: true },
    { name: 'not a JWT', headers: async () => bearer('abc.def'), tokenSent: true },
    { name: 'expired', headers: async () => bearer(await hsToken(secret, { audience, issuer: TEST_ISSUER, expiresIn: -3600 })), tokenSent: true },
    { name: 'not valid yet (nbf in an hour)', headers: async () => bearer(await hsToken(secret, { audience, issuer: TEST_ISSUER, notBefore: 3600 })), tokenSent: true },
    { name: 'wrong issuer', headers: async () => bearer(await hsToken(secret, { audience, issuer: 'https://evil.test' })), tokenSent: true },
    { name: 'no issuer', headers: async () => bearer(await hsToken(secret, { audience })), tokenSent: true },
    { name: 'wrong audience', headers: async () => bearer(await hsToken(secret, { audience: 'https://other.example/mcp', issuer: TEST_ISSUER })), tokenSent: true },
    { name: 'no audience', headers: async () => bearer(await hsToken(secret, { issuer: TEST_ISSUER })), tokenSent: true },
    { name: 'bad signature', headers: async () => bearer(tamper(await good())), tokenSent: true },
    { name: 'signed with another secret', headers: async () => bearer(await hsToken(randomSecret(), { audience, issuer: TEST_ISSUER })), tokenSent: true },
    { name: 'alg none', headers: async () => bearer(unsignedToken({ sub: 'alice', aud: audience, iss: TEST_ISSUER, exp: Math.floor(Date.now() / 1000) + 3600 })), tokenSent: true },
    { name: 'no subject', headers: async () => bearer(await hsToken(secret, { audience, issuer: TEST_ISSUER, claims: { sub: undefined } })), tokenSent: true },
    { name: 'no expiry', headers: async () => bearer(await hsToken(secret, { audience, issuer: TEST_ISSUER, expiresIn: null })), tokenSent: true },
    {
      name: 'RS256 token on an HS256 server',
      headers: async () => bearer(await rsToken((await rsaKey('x')).privateKey, { audience, issuer: TEST_ISSUER })),
      tokenSent: true,
    },
    { name: 'token in a bearer subprotocol, but wrong signature', headers: async () => ({ 'Sec-WebSocket-Protocol': `mcp, bearer.${tamper(await good())}` }), tokenSent: true },
  ];

  for (const c of cases) {
    test(`${c.name} → 401 with a Bearer challenge, no upgrade, on /mcp/ws, /mcp/sse, /mcp/messages and /mcp`, async () => {
      const headers = await c.headers();
      const query = c.query ? await c.query() : '';
      const protocolHeader = headers['Sec-WebSocket-Protocol'];
      const wsHeaders = { ...headers };
      delete wsHeaders['Sec-WebSocket-Protocol'];
      const ws = await tryUpgrade(`${server.wsUrl}${query}`, { headers: wsHeaders, protocols: protocolHeader?.split(', ') });
      assert.equal(ws.upgraded, false, 'no 101');
      assert.equal(ws.status, 401);
      assertChallenge(ws.headers['www-authenticate'] as string, server, c.tokenSent, 'ws');
      if (protocolHeader) return; // the subprotocol is a WebSocket-only carrier
      for (const attempt of httpAttempts(server.httpUrl)) {
        const res = await attempt.send(headers, query);
        await res.arrayBuffer();
        assert.equal(res.status, 401, attempt.route);
        assertChallenge(res.headers.get('www-authenticate') ?? undefined, server, c.tokenSent, attempt.route);
      }
    });
  }

  test('a token expired a few seconds ago is still accepted (clock tolerance)', async () => {
    const token = await hsToken(secret, { audience, issuer: TEST_ISSUER, expiresIn: -5 });
    const attempt = await tryUpgrade(server.wsUrl, { headers: bearer(token) });
    assert.equal(attempt.status, 101);
  });

  test('the SDK client connects with a token over WebSocket, legacy SSE and Streamable HTTP', async () => {
    const token = await good();
    installWebSocketGlobal(bearer(token));
    try {
      for (const url of [server.wsUrl, `${server.httpUrl}/mcp/sse`, `${server.httpUrl}/mcp`]) {
        const client = await connectSdkClient(url);
        try {
          const result = await client.callTool({ name: 'echo', arguments: { message: `hi over ${url}` } });
          assert.deepEqual(result.content, [{ type: 'text', text: `hi over ${url}` }]);
        } finally {
          await client.close();
        }
      }
    } finally {
      installWebSocketGlobal({});
    }
  });

  test('a browser-style WebSocket sends the token as subprotocol bearer.<token>; the server selects mcp and never echoes it', async () => {
    const token = await good();
    const client = await openRaw(server.wsUrl, { protocols: ['mcp', `bearer.${token}`] });
    try {
      assert.equal(client.ws.protocol, 'mcp');
      assert.equal(client.upgrade.headers['sec-websocket-protocol'], 'mcp');
      await client.initialize();
      client.send({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'echo', arguments: { message: 'from a browser' } } });
      const reply = await client.waitFor((m) => m.id === 7);
      assert.deepEqual(reply.result.content, [{ type: 'text', text: 'from a browser' }]);
    } finally {
      client.close();
    }
  });

  test('offering only the token subprotocol upgrades without echoing any protocol', async () => {
    const token = await good();
    const headers = await new Promise<IncomingHttpHeaders>((resolve, reject) => {
      const req = httpRequest(`${server.httpUrl}/mcp/ws`, {
        headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Protocol': `bearer.${token}` },
      });
      req.on('upgrade', (res, socket) => {
        socket.destroy();
        resolve(res.headers);
      });
      req.on('response', (res) => reject(new Error(`HTTP ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });
    assert.equal(headers['sec-websocket-protocol'], undefined);
    assert.equal(JSON.stringify(headers).includes(token), false);
  });

  test('tools needing a scope are hidden from tokens without it and refused with -32003 naming the scope', async () => {
    installWebSocketGlobal(bearer(await good()));
    const plain = await connectSdkClient(server.wsUrl);
    installWebSocketGlobal(bearer(await hsToken(secret, { audience, issuer: TEST_ISSUER, claims: { scope: 'other deploy:write' } })));
    const scoped = await connectSdkClient(server.wsUrl);
    installWebSocketGlobal(bearer(await hsToken(secret, { audience, issuer: TEST_ISSUER, claims: { scp: ['deploy:write'] } })));
    const scp = await connectSdkClient(server.wsUrl);
    installWebSocketGlobal({});
    try {
      const names = (await plain.listTools()).tools.map((t) => t.name);
      assert.equal(names.includes('deploy'), false);
      assert.ok(names.includes('echo'));
      await assert.rejects(plain.callTool({ name: 'deploy', arguments: {} }), (err: unknown) => {
        assert.ok(err instanceof McpError);
        assert.equal(err.code, -32003);
        assert.match(err.message, /Missing scope: deploy:write/);
        return true;
      });
      assert.ok((await scoped.listTools()).tools.some((t) => t.name === 'deploy'));
      assert.deepEqual((await scoped.callTool({ name: 'deploy', arguments: {} })).content, [{ type: 'text', text: 'deployed' }]);
      assert.deepEqual((await scp.callTool({ name: 'deploy', arguments: {} })).content, [{ type: 'text', text: 'deployed' }]);
    } finally {
      await Promise.all([plain.close(), scoped.close(), scp.close()]);
    }
  });

  test('principal B gets 404 for principal A\'s session ids on every HTTP route, and A carries on', async () => {
    const tokenA = await good();
    const tokenB = await hsToken(secret, { audience, issuer: TEST_ISSUER, claims: { sub: 'bob' } });
    const json = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

    // Streamable HTTP: A's session id used by B on POST, GET and DELETE.
    const init = await fetch(`${server.httpUrl}/mcp`, { method: 'POST', headers: { ...json, ...bearer(tokenA) }, body: JSON.stringify(INIT) });
    await init.arrayBuffer();
    const sid = init.headers.get('mcp-session-id')!;
    assert.ok(sid);
    const asB = { ...bearer(tokenB), 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' };
    const ping = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' });
    for (const [what, res] of [
      ['POST', await fetch(`${server.httpUrl}/mcp`, { method: 'POST', headers: { ...json, ...asB }, body: ping })],
      ['GET', await fetch(`${server.httpUrl}/mcp`, { headers: { accept: 'text/event-stream', ...asB } })],
      ['DELETE', await fetch(`${server.httpUrl}/mcp`, { method: 'DELETE', headers: asB })],
    ] as const) {
      await res.arrayBuffer();
      assert.equal(res.status, 404, `streamable ${what}`);
    }
    const unknown = await fetch(`${server.httpUrl}/mcp`, { method: 'POST', headers: { ...json, ...bearer(tokenB), 'mcp-session-id': 'no-such-session' }, body: ping });
    const unknownBody = await unknown.text();
    const stolen = await fetch(`${server.httpUrl}/mcp`, { method: 'POST', headers: { ...json, ...asB }, body: ping });
    assert.equal(await stolen.text(), unknownBody, "answered exactly like an unknown id");
    const stillA = await fetch(`${server.httpUrl}/mcp`, { method: 'POST', headers: { ...json, ...bearer(tokenA), 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' }, body: ping });
    assert.equal(stillA.status, 200);
    assert.match(await stillA.text(), /"id":2/);

    // Legacy SSE: A's stream, B posts to A's endpoint.
    const stream = await fetch(`${server.httpUrl}/mcp/sse`, { headers: { accept: 'text/event-stream', ...bearer(tokenA) } });
    const reader = stream.body!.getReader();
    let text = '';
    while (!/data: (\S+)/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    const endpoint = /data: (\S+)/.exec(text)![1]!;
    const byB = await fetch(`${server.httpUrl}${endpoint}`, { method: 'POST', headers: { ...json, ...bearer(tokenB) }, body: JSON.stringify(INIT) });
    await byB.arrayBuffer();
    assert.equal(byB.status, 404, 'sse POST by B');
    const byA = await fetch(`${server.httpUrl}${endpoint}`, { method: 'POST', headers: { ...json, ...bearer(tokenA) }, body: JSON.stringify(INIT) });
    await byA.arrayBuffer();
    assert.equal(byA.status, 202, 'sse POST by A');
    while (!/"id":1/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
  });

  test('RFC 9728 metadata at the root and path-suffixed URLs, linked from the challenge', async () => {
    const denied = await fetch(`${server.httpUrl}/mcp`, { method: 'POST' });
    const url = /resource_metadata="([^"]+)"/.exec(denied.headers.get('www-authenticate')!)![1]!;
    for (const path of [url, `${server.httpUrl}/.well-known/oauth-protected-resource`]) {
      const res = await fetch(path);
      assert.equal(res.status, 200, path);
      const body = await res.json();
      assert.equal(body.resource, audience);
      assert.deepEqual(body.authorization_servers, [TEST_ISSUER]);
      assert.deepEqual(body.bearer_methods_supported, ['header']);
      assert.ok(body.scopes_supported.includes('deploy:write'));
      assert.ok(body.scopes_supported.includes('admin'));
    }
    assert.equal((await fetch(`${server.httpUrl}/healthz`)).status, 200, 'health stays open');
  });
});

describe('scope settings', () => {
  const secret = randomSecret();

  test('HIDE_UNAUTHORIZED_TOOLS=false lists the tool but still refuses the call', async (t) => {
    const server = await startServer({ config: { AUTH_MODE: 'jwt', JWT_SECRET: secret, HIDE_UNAUTHORIZED_TOOLS: false }, tools: [deployTool] });
    t.after(() => server.close());
    installWebSocketGlobal(bearer(await hsToken(secret, { audience: `${server.httpUrl}/mcp` })));
    const client = await connectSdkClient(server.wsUrl);
    installWebSocketGlobal({});
    t.after(() => client.close());
    assert.ok((await client.listTools()).tools.some((t) => t.name === 'deploy'));
    await assert.rejects(client.callTool({ name: 'deploy', arguments: {} }), (err: unknown) => err instanceof McpError && err.code === -32003);
  });

  test('REQUIRED_SCOPES: a token without them gets 403 insufficient_scope before any upgrade', async (t) => {
    const server = await startServer({ config: { AUTH_MODE: 'jwt', JWT_SECRET: secret, REQUIRED_SCOPES: 'mcp:use' } });
    t.after(() => server.close());
    const audience = `${server.httpUrl}/mcp`;
    const without = await tryUpgrade(server.wsUrl, { headers: bearer(await hsToken(secret, { audience, claims: { scope: 'other' } })) });
    assert.equal(without.status, 403);
    assert.equal(without.upgraded, false);
    const header = without.headers['www-authenticate'] as string;
    assert.match(header, /error="insufficient_scope"/);
    assert.match(header, /scope="mcp:use"/);
    assert.match(header, /resource_metadata="/);
    const post = await fetch(`${server.httpUrl}/mcp`, { method: 'POST', headers: bearer(await hsToken(secret, { audience })) });
    assert.equal(post.status, 403);
    const withScope = await tryUpgrade(server.wsUrl, { headers: bearer(await hsToken(secret, { audience, claims: { scope: 'mcp:use' } })) });
    assert.equal(withScope.status, 101);
  });
});

describe('RS256 tokens checked against a JWKS served locally', () => {
  let jwks: JwksServer;
  let key: RsaKey;
  let server: TestServer;
  let audience: string;
  before(async () => {
    key = await rsaKey('key-1');
    jwks = await startJwksServer([key.publicJwk]);
    server = await startServer({ config: { AUTH_MODE: 'jwt', JWKS_URL: jwks.url, JWT_ISSUER: TEST_ISSUER } });
    audience = `${server.httpUrl}/mcp`;
  });
  after(async () => {
    await server.close();
    await jwks.close();
  });

  test('a valid RS256 token connects the SDK client', async () => {
    installWebSocketGlobal(bearer(await rsToken(key.privateKey, { audience, issuer: TEST_ISSUER, kid: 'key-1' })));
    const client = await connectSdkClient(server.wsUrl);
    installWebSocketGlobal({});
    try {
      assert.deepEqual((await client.callTool({ name: 'echo', arguments: { message: 'rs256' } })).content, [{ type: 'text', text: 'rs256' }]);
    } finally {
      await client.close();
    }
  });

  test('unknown kid, a forged key with a known kid, an HS256 token and alg none are all 401', async () => {
    const forged = await rsaKey('key-1');
    const tokens = [
      await rsToken(key.privateKey, { audience, issuer: TEST_ISSUER, kid: 'key-2' }),
      await rsToken(forged.privateKey, { audience, issuer: TEST_ISSUER, kid: 'key-1' }),
      await hsToken(randomSecret(), { audience, issuer: TEST_ISSUER, kid: 'key-1' }),
      unsignedToken({ sub: 'alice', aud: audience, iss: TEST_ISSUER, exp: Math.floor(Date.now() / 1000) + 60 }),
    ];
    for (const [i, token] of tokens.entries()) {
      const attempt = await tryUpgrade(server.wsUrl, { headers: bearer(token) });
      assert.equal(attempt.status, 401, `token ${i}`);
      assert.match(attempt.headers['www-authenticate'] as string, /error="invalid_token"/);
    }
  });

  test('a flood of made-up key ids does not turn into a flood of JWKS fetches', async () => {
    const before = jwks.hits();
    for (let i = 0; i < 20; i++) {
      const token = await rsToken(key.privateKey, { audience, issuer: TEST_ISSUER, kid: `made-up-${i}` });
      assert.equal((await tryUpgrade(server.wsUrl, { headers: bearer(token) })).status, 401);
    }
    assert.ok(jwks.hits() - before <= 1, `JWKS fetched ${jwks.hits() - before} times for 20 unknown kids`);
  });

  test('an unreachable JWKS answers 503 (not 401, not a crash)', async (t) => {
    const gone = await startJwksServer([]);
    await gone.close();
    const other = await startServer({ config: { AUTH_MODE: 'jwt', JWKS_URL: gone.url } });
    t.after(() => other.close());
    const token = await rsToken(key.privateKey, { audience: `${other.httpUrl}/mcp`, kid: 'key-1' });
    const attempt = await tryUpgrade(other.wsUrl, { headers: bearer(token) });
    assert.equal(attempt.status, 503);
    assert.equal(attempt.upgraded, false);
    assert.equal((await fetch(`${other.httpUrl}/healthz`)).status, 200);
  });
});

describe('logs never contain tokens', () => {
  test('header and subprotocol tokens, good and bad, are absent from every log line', async (t) => {
    const secret = randomSecret();
    const lines: string[] = [];
    const server = await startServer({ config: { AUTH_MODE: 'jwt', JWT_SECRET: secret, LOG_LEVEL: 'trace' }, logStream: { write: (l: string) => void lines.push(l) } });
    t.after(() => server.close());
    const audience = `${server.httpUrl}/mcp`;
    const good = await hsToken(secret, { audience });
    const bad = await hsToken(randomSecret(), { audience });
    assert.equal((await tryUpgrade(server.wsUrl, { headers: bearer(good) })).status, 101);
    assert.equal((await tryUpgrade(server.wsUrl, { protocols: ['mcp', `bearer.${good}`] })).status, 101);
    assert.equal((await tryUpgrade(server.wsUrl, { headers: bearer(bad) })).status, 401);
    assert.equal((await tryUpgrade(server.wsUrl, { protocols: ['mcp', `bearer.${bad}`] })).status, 401);
    const res = await fetch(`${server.httpUrl}/mcp`, { method: 'POST', headers: { ...bearer(bad), 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 401);
    // Whatever logs a request's headers later goes through the redaction too.
    server.app.log.info({ headers: { authorization: `Bearer ${good}`, 'sec-websocket-protocol': `mcp, bearer.${good}` } }, 'headers');
    const all = lines.join('');
    assert.ok(lines.length > 3, 'the server logged something');
    assert.ok(all.includes('authentication failed'), 'failures are logged');
    assert.ok(all.includes('[redacted]'));
    for (const token of [good, bad]) {
      assert.equal(all.includes(token.split('.')[2]!), false, 'a token signature appears in the logs');
      assert.equal(all.includes(token.split('.')[1]!), false, 'a token payload appears in the logs');
    }
  });
});

// Each test runs its own child server: they run side by side (each spawn costs seconds of startup).
describe('startup rules of the standalone server', { concurrency: true }, () => {
  test('AUTH_MODE=none on a non-loopback HOST refuses to start, naming the way out', async (t) => {
    const server = spawnServer({ AUTH_MODE: 'none', HOST: '0.0.0.0', PORT: '0' });
    t.after(() => stopChild(server));
    assert.equal((await server.exited).code, 1);
    assert.match(server.output().stderr, /AUTH_MODE=none.*ALLOW_INSECURE_NO_AUTH=true/);
  });

  test('AUTH_MODE=none on 0.0.0.0 starts with ALLOW_INSECURE_NO_AUTH=true', async (t) => {
    const server = spawnServer({ AUTH_MODE: 'none', HOST: '0.0.0.0', PORT: '0', ALLOW_INSECURE_NO_AUTH: 'true', LOG_LEVEL: 'silent' });
    t.after(() => stopChild(server));
    await new Promise<void>((resolve, reject) => {
      const check = () => (/listening/.test(server.output().stdout) ? resolve() : undefined);
      server.child.stdout!.on('data', check);
      void server.exited.then(() => reject(new Error(server.output().stderr)));
    });
  });

  test('AUTH_MODE=jwt on a non-loopback HOST without JWT_SECRET or JWKS_URL refuses to start', async (t) => {
    const server = spawnServer({ AUTH_MODE: 'jwt', HOST: '0.0.0.0', PORT: '0' });
    t.after(() => stopChild(server));
    assert.equal((await server.exited).code, 1);
    assert.match(server.output().stderr, /JWT_SECRET nor JWKS_URL/);
  });

  test('npm start with no auth settings prints a dev token and a curl line that work', async (t) => {
    const server = await startChildServer({ AUTH_MODE: 'jwt', JWT_SECRET: '', JWKS_URL: '' });
    t.after(() => stopChild(server));
    const out = server.output().stdout;
    await new Promise<void>((resolve) => {
      const check = () => (/-d '.*'\n/.test(server.output().stdout) ? resolve() : undefined);
      server.child.stdout!.on('data', check);
      check();
    });
    const printed = server.output().stdout;
    const token = /Authorization: Bearer ([\w.-]+)/.exec(printed)![1]!;
    assert.ok(out.length > 0);
    assert.equal((await tryUpgrade(server.wsUrl)).status, 401, 'without the token');
    assert.equal((await tryUpgrade(server.wsUrl, { headers: bearer(token) })).status, 101, 'with the printed token');
    const curlLine = printed.split('\n').filter((l) => /^\s+(curl|-d)/.test(l)).map((l) => l.trim()).join(' ').replace(/\\ /g, ' ');
    const result = await new Promise<string>((resolve, reject) => {
      const child = spawn('bash', ['-c', curlLine], { stdio: ['ignore', 'pipe', 'inherit'] });
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.on('error', reject);
      child.on('close', () => resolve(stdout));
    });
    assert.match(result, /"protocolVersion"/, `the printed curl line answered: ${result}`);
  });
});
