// Limits: the HTTP rate limit (429 with Retry-After and RateLimit-* headers, keyed by principal, else
// by client IP with X-Forwarded-For only from TRUSTED_PROXIES), the in-socket message budget (-32029
// with retryAfterMs, then close 1008) with a second client unaffected, and connections per principal.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './helpers/server.js';
import { connectSdkClient, installWebSocketGlobal } from './helpers/sdk-client.js';
import { openRaw } from './helpers/raw-ws.js';
import { tryUpgrade } from './helpers/upgrade.js';
import { bearer, hsToken, randomSecret } from './helpers/tokens.js';
import { TokenBucket } from '../src/limits/token-bucket.js';
import { MessageRateLimiter, STRIKE_WINDOW_MS } from '../src/limits/message-rate-limiter.js';
import { ConnectionCounter } from '../src/limits/connection-counter.js';
import { DEFAULTS } from '../src/defaults.js';

describe('token bucket and message limiter (fake clock)', () => {
  test('a bucket gives its burst, then one token per 1/rate seconds, and says how long to wait', () => {
    const bucket = new TokenBucket(10, 3, 0);
    assert.deepEqual([bucket.take(0), bucket.take(0), bucket.take(0)], [0, 0, 0]);
    assert.equal(bucket.take(0), 100);
    assert.equal(bucket.take(50), 50);
    assert.equal(bucket.take(100), 0);
    assert.equal(bucket.take(10_000), 0, 'refills up to capacity only');
    assert.deepEqual([bucket.take(10_000), bucket.take(10_000), bucket.take(10_000)], [0, 0, 100]);
  });

  test('the limiter refuses over budget and asks to close after more than `strikes` refusals in the window', () => {
    let now = 0;
    const limiter = new MessageRateLimiter({ messagesPerSecond: 1, burst: 2, strikes: 2, now: () => now });
    assert.deepEqual([limiter.check(), limiter.check()], [{ allowed: true }, { allowed: true }]);
    assert.deepEqual(limiter.check(), { allowed: false, retryAfterMs: 1000, close: false });
    assert.deepEqual(limiter.check(), { allowed: false, retryAfterMs: 1000, close: false });
    now = STRIKE_WINDOW_MS + 1; // strikes expire with the window; the bucket refilled meanwhile
    assert.deepEqual(limiter.check(), { allowed: true });
    assert.deepEqual(limiter.check(), { allowed: true });
    assert.equal((limiter.check() as { close: boolean }).close, false);
    assert.equal((limiter.check() as { close: boolean }).close, false);
    assert.equal((limiter.check() as { close: boolean }).close, true);
  });

  test('the connection counter enforces its ceiling per key and frees slots', () => {
    const c = new ConnectionCounter(2);
    assert.deepEqual([c.acquire('a'), c.acquire('a'), c.acquire('a'), c.acquire('b')], [true, true, false, true]);
    c.release('a');
    assert.equal(c.acquire('a'), true);
    assert.equal(new ConnectionCounter(0).acquire('x'), true, '0 = no limit');
  });

  // The tests below lower the limits to see them bite; these are their twins at the defaults.
  test('at the default message limits: a burst of WS_MESSAGE_BURST, then refusals; the close after WS_RATE_LIMIT_STRIKES of them', () => {
    let now = 0;
    const limiter = new MessageRateLimiter({ messagesPerSecond: DEFAULTS.WS_MESSAGES_PER_SECOND, burst: DEFAULTS.WS_MESSAGE_BURST, strikes: DEFAULTS.WS_RATE_LIMIT_STRIKES, now: () => now });
    for (let i = 0; i < DEFAULTS.WS_MESSAGE_BURST; i++) assert.deepEqual(limiter.check(), { allowed: true }, `message ${i + 1}`);
    assert.deepEqual(limiter.check(), { allowed: false, retryAfterMs: 1, close: false });
    now = 1; // one token per millisecond at 1000/s
    assert.deepEqual(limiter.check(), { allowed: true });
    for (let strike = 2; strike <= DEFAULTS.WS_RATE_LIMIT_STRIKES; strike++) assert.equal((limiter.check() as { close: boolean }).close, false, `strike ${strike}`);
    assert.equal((limiter.check() as { close: boolean }).close, true);
  });

  test('at the default MAX_CONNECTIONS_PER_PRINCIPAL the counter allows that many per key', () => {
    const c = new ConnectionCounter(DEFAULTS.MAX_CONNECTIONS_PER_PRINCIPAL);
    for (let i = 0; i < DEFAULTS.MAX_CONNECTIONS_PER_PRINCIPAL; i++) assert.equal(c.acquire('alice'), true);
    assert.equal(c.acquire('alice'), false);
    assert.equal(c.acquire('bob'), true);
  });
});

describe('limits of a server with the default settings', () => {
  test('RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_MS is in force (RateLimit-* headers)', async (t) => {
    const server = await startServer();
    t.after(() => server.close());
    const post = await fetch(`${server.httpUrl}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    await post.arrayBuffer();
    assert.equal(post.headers.get('ratelimit-limit'), String(DEFAULTS.RATE_LIMIT_MAX));
    assert.equal(post.headers.get('ratelimit-remaining'), String(DEFAULTS.RATE_LIMIT_MAX - 1));
    const reset = Number(post.headers.get('ratelimit-reset'));
    assert.ok(reset > 0 && reset <= DEFAULTS.RATE_LIMIT_WINDOW_MS / 1000, `RateLimit-Reset ${reset}`);
  });
});

describe('HTTP rate limit', () => {
  test('over RATE_LIMIT_MAX a principal gets 429 with Retry-After and RateLimit-* headers (no upgrade); another principal does not', async (t) => {
    const secret = randomSecret();
    const server = await startServer({ config: { AUTH_MODE: 'jwt', JWT_SECRET: secret, RATE_LIMIT_MAX: 3, RATE_LIMIT_WINDOW_MS: 60_000 } });
    t.after(() => server.close());
    const audience = `${server.httpUrl}/mcp`;
    const alice = bearer(await hsToken(secret, { audience, claims: { sub: 'alice' } }));
    const bob = bearer(await hsToken(secret, { audience, claims: { sub: 'bob' } }));
    for (let i = 0; i < 3; i++) assert.equal((await tryUpgrade(server.wsUrl, { headers: alice })).status, 101, `upgrade ${i + 1}`);
    const limited = await tryUpgrade(server.wsUrl, { headers: alice });
    assert.equal(limited.status, 429);
    assert.equal(limited.upgraded, false);
    assert.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After');
    assert.equal(limited.headers['ratelimit-limit'], '3');
    assert.equal(limited.headers['ratelimit-remaining'], '0');
    assert.ok(Number(limited.headers['ratelimit-reset']) > 0, 'RateLimit-Reset');
    const post = await fetch(`${server.httpUrl}/mcp`, { method: 'POST', headers: { ...alice, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(post.status, 429, 'POSTs count too');
    assert.equal((await tryUpgrade(server.wsUrl, { headers: bob })).status, 101, 'another principal has its own budget');
    assert.equal((await fetch(`${server.httpUrl}/healthz`)).status, 200, 'health checks are not limited');
  });

  test('without auth the key is the client IP; X-Forwarded-For counts only from TRUSTED_PROXIES', async (t) => {
    const untrusting = await startServer({ config: { RATE_LIMIT_MAX: 1 } });
    t.after(() => untrusting.close());
    assert.equal((await tryUpgrade(untrusting.wsUrl, { headers: { 'X-Forwarded-For': '203.0.113.1' } })).status, 101);
    assert.equal((await tryUpgrade(untrusting.wsUrl, { headers: { 'X-Forwarded-For': '203.0.113.2' } })).status, 429, 'a spoofed XFF does not buy a new budget');

    const trusting = await startServer({ config: { RATE_LIMIT_MAX: 1, TRUSTED_PROXIES: '127.0.0.1' } });
    t.after(() => trusting.close());
    assert.equal((await tryUpgrade(trusting.wsUrl, { headers: { 'X-Forwarded-For': '203.0.113.1' } })).status, 101);
    assert.equal((await tryUpgrade(trusting.wsUrl, { headers: { 'X-Forwarded-For': '203.0.113.2' } })).status, 101, 'another client behind the proxy');
    assert.equal((await tryUpgrade(trusting.wsUrl, { headers: { 'X-Forwarded-For': '203.0.113.1' } })).status, 429);
  });
});

describe('in-socket message limit', () => {
  test('a flooding socket gets -32029 with retryAfterMs, then close 1008; a second client is unaffected', async (t) => {
    const server = await startServer({ config: { WS_MESSAGES_PER_SECOND: 1, WS_MESSAGE_BURST: 5, WS_RATE_LIMIT_STRIKES: 3 } });
    t.after(() => server.close());
    const good = await connectSdkClient(server.wsUrl);
    t.after(() => good.close());
    const flooder = await openRaw(server.wsUrl);
    for (let i = 1; i <= 30; i++) flooder.send({ jsonrpc: '2.0', id: i, method: 'ping' });
    const closed = await flooder.closed;
    assert.equal(closed.code, 1008);
    const results = flooder.received.filter((m) => m.result !== undefined);
    const limited = flooder.received.filter((m) => m.error?.code === -32029);
    assert.ok(results.length >= 5, `the burst was served (${results.length})`);
    assert.ok(limited.length >= 1 && limited.length <= 3 + 1, `refusals before the close: ${limited.length}`);
    for (const m of limited) {
      assert.equal(typeof m.id, 'number');
      assert.ok(m.error.data.retryAfterMs > 0);
    }
    // The well-behaved client on the same server still gets through: its own budget (5 messages:
    // initialize, initialized and these 3 calls) is untouched by the flooder's.
    for (let i = 0; i < 3; i++) {
      assert.deepEqual((await good.callTool({ name: 'echo', arguments: { message: `ok ${i}` } })).content, [{ type: 'text', text: `ok ${i}` }]);
    }
  });

  test('over-limit notifications are dropped silently (no response to a notification)', async (t) => {
    const server = await startServer({ config: { WS_MESSAGES_PER_SECOND: 1, WS_MESSAGE_BURST: 2, WS_RATE_LIMIT_STRIKES: 100 } });
    t.after(() => server.close());
    const client = await openRaw(server.wsUrl);
    t.after(() => client.close());
    for (let i = 0; i < 5; i++) client.send({ jsonrpc: '2.0', method: 'notifications/unknown' });
    client.send({ jsonrpc: '2.0', id: 'last', method: 'ping' });
    const reply = await client.next();
    assert.equal(reply.id, 'last', 'the first frame back answers the request, nothing answered the notifications');
    assert.equal(reply.error.code, -32029);
  });
});

describe('connections per principal', () => {
  test('MAX_CONNECTIONS_PER_PRINCIPAL open sockets, then 429 for that principal only; closing one frees a slot', async (t) => {
    const secret = randomSecret();
    const server = await startServer({ config: { AUTH_MODE: 'jwt', JWT_SECRET: secret, MAX_CONNECTIONS_PER_PRINCIPAL: 2 } });
    t.after(() => server.close());
    const audience = `${server.httpUrl}/mcp`;
    const alice = bearer(await hsToken(secret, { audience, claims: { sub: 'alice' } }));
    const bob = bearer(await hsToken(secret, { audience, claims: { sub: 'bob' } }));
    const a1 = await openRaw(server.wsUrl, { headers: alice });
    const a2 = await openRaw(server.wsUrl, { headers: alice });
    const third = await tryUpgrade(server.wsUrl, { headers: alice });
    assert.equal(third.status, 429);
    assert.equal(third.upgraded, false);
    const b1 = await openRaw(server.wsUrl, { headers: bob });
    b1.close();
    a1.close();
    await a1.closed;
    // The server frees the slot when it sees the socket close; retry until it has (bounded, no timing).
    let status = 0;
    for (let i = 0; i < 50 && status !== 101; i++) {
      status = (await tryUpgrade(server.wsUrl, { headers: alice })).status;
      if (status !== 101) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(status, 101);
    a2.close();
  });
});
