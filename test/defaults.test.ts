// Defects that show at the DEFAULT settings (the standalone app with nothing lowered), each checked with
// real clients over loopback. Where a check also runs with a setting lowered (to see that the bound is
// the setting), the default twin runs too.
//   - a WebSocket frame over the default 4 MiB MAX_PAYLOAD_BYTES closes with 1009, for every client
//     (ws, a raw client still sending its frame, Chromium), not 1006;
//   - every refused upgrade says `Connection: close`, and a pooled keep-alive client's next request works;
//   - a stalled body and dribbled headers are cut at HTTP_BODY_TIMEOUT_MS / HTTP_HEADERS_TIMEOUT_MS while
//     everyone else is served, and open SSE streams and WebSockets are not;
//   - ordinary clients (fetch, http.request) read the 413 for an oversized body;
//   - a dropped WebSocket counts as detached (stats resource and /metrics) until it is resumed;
//   - ctx.checkpoint() on a congested connection does not pile up abort listeners;
//   - with AUTH_MODE=none, no metadata is served and no challenge points to it.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { getEventListeners } from 'node:events';
import { request as httpRequest, Agent, type IncomingHttpHeaders } from 'node:http';
import { connect as netConnect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import Type from 'typebox';
import { WebSocket } from 'ws';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { defineTool } from '../src/tools/define.js';
import type { Operation } from '../src/operations/operation.js';
import { DEFAULTS } from '../src/defaults.js';
import { startServer, type TestServer } from './helpers/server.js';
import { connectSdkClient, installWebSocketGlobal } from './helpers/sdk-client.js';
import { openSse } from './helpers/sse-client.js';
import { hsToken, randomSecret, bearer } from './helpers/tokens.js';

const MiB = 1024 * 1024;

/** Node's own WebSocket client (Node >= 22), taken before any test installs `ws` as the global. */
const NativeWebSocket = (globalThis as { WebSocket?: typeof globalThis.WebSocket }).WebSocket;

// ---------------------------------------------------------------------------------------------------
// Clients

interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One HTTP request (through `agent` when given, else Node's global keep-alive agent). */
function httpCall(url: string, options: { method?: string; headers?: Record<string, string | number>; body?: string | Buffer; agent?: Agent } = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers, ...(options.agent && { agent: options.agent }) });
    req.on('error', reject);
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.end(options.body);
  });
}

/** Headers of a WebSocket upgrade request for /mcp/ws. */
function upgradeHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return {
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    'Sec-WebSocket-Protocol': 'mcp',
    ...extra,
  };
}

/**
 * A raw WebSocket client that sends one text frame of `size` bytes in `chunk`-sized writes with a pause
 * between them (as a browser or a slow uplink does), reading what comes back all the while. Resolves with
 * the close code of the first close frame it reads, or how the connection ended without one.
 */
function sendBigFrameRaw(port: number, size: number, chunk: number, pauseMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = netConnect(port, '127.0.0.1');
    let input = Buffer.alloc(0);
    let upgraded = false;
    let outcome: string | undefined;
    const finish = (what: string) => {
      if (outcome !== undefined) return;
      outcome = what;
      resolve(what);
      socket.destroy();
    };
    socket.on('error', (err: NodeJS.ErrnoException) => finish(`error ${err.code}`));
    socket.on('close', () => finish('closed without a close frame'));
    socket.on('data', (data) => {
      input = Buffer.concat([input, data]);
      if (!upgraded) {
        const end = input.indexOf('\r\n\r\n');
        if (end < 0) return;
        const status = input.subarray(0, end).toString().split('\r\n')[0]!;
        if (!status.startsWith('HTTP/1.1 101')) return finish(`no upgrade: ${status}`);
        upgraded = true;
        input = input.subarray(end + 4);
        void writeFrame();
      }
      // A close frame from the server (unmasked): opcode 8, then the 2-byte code.
      if (input.length >= 4 && (input[0]! & 0x0f) === 0x8) finish(`close ${input.readUInt16BE(2)}`);
    });
    socket.write(
      `GET /mcp/ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
        Object.entries(upgradeHeaders()).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n',
    );
    async function writeFrame() {
      // FIN + text; masked (clients must mask) with a zero key, so the payload goes as is; 64-bit length.
      const header = Buffer.alloc(14);
      header[0] = 0x81;
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(BigInt(size), 2);
      socket.write(header);
      const block = Buffer.alloc(chunk, 0x78);
      for (let sent = 0; sent < size && outcome === undefined; sent += chunk) {
        if (!socket.write(block.subarray(0, Math.min(chunk, size - sent)))) {
          await new Promise((r) => {
            socket.once('drain', r);
            socket.once('close', r);
          });
        }
        if (pauseMs > 0) await sleep(pauseMs);
      }
    }
  });
}

/** The `ws` client: open, send one text frame of `size` bytes, resolve with the close code. */
async function sendBigFrameWs(url: string, size: number): Promise<number> {
  const ws = new WebSocket(url, ['mcp']);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return new Promise((resolve) => {
    ws.on('error', () => {});
    ws.on('close', (code) => resolve(code));
    ws.send('x'.repeat(size));
  });
}

// ---------------------------------------------------------------------------------------------------

describe('defaults: a WebSocket frame over the 4 MiB MAX_PAYLOAD_BYTES closes with 1009', () => {
  let server: TestServer;
  before(async () => {
    assert.equal(DEFAULTS.MAX_PAYLOAD_BYTES, 4 * MiB);
    server = await startServer(); // MAX_PAYLOAD_BYTES not set: the default
  });
  after(() => server.close());

  for (const size of [4 * MiB + 1, 16 * MiB]) {
    test(`ws client, ${size} bytes → 1009`, async () => {
      for (let i = 0; i < 3; i++) assert.equal(await sendBigFrameWs(server.wsUrl, size), 1009);
    });

    // Before the fix in plugins/websocket.ts, 3–5 of 10 of these got a reset instead of the close frame:
    // the server terminated the socket with the client's bytes unread, so the kernel sent RST.
    test(`raw client still sending (16 KiB writes, 1 ms apart), ${size} bytes → close frame 1009, 10 of 10`, async () => {
      const outcomes: string[] = [];
      for (let i = 0; i < 10; i++) outcomes.push(await sendBigFrameRaw(server.port, size, 16 * 1024, 1));
      assert.deepEqual(outcomes, Array(10).fill('close 1009'));
    });
  }

  // Before the fix, Node 22.23's built-in WebSocket (undici) got 1006 in 6 of 10 (run by hand; this
  // case runs when the tests themselves run on a Node that has the global).
  test("Node's built-in WebSocket sending 5 MiB + 1 → 1009, 10 of 10", async (t) => {
    if (NativeWebSocket === undefined) {
      t.skip(`Node ${process.version} has no built-in WebSocket (Node >= 22 has)`);
      return;
    }
    const outcomes: string[] = [];
    for (let i = 0; i < 10; i++) {
      outcomes.push(await new Promise<string>((resolve) => {
        const ws = new NativeWebSocket(server.wsUrl, ['mcp']);
        ws.onopen = () => ws.send('x'.repeat(5 * MiB + 1));
        ws.onclose = (e) => resolve(String(e.code));
        ws.onerror = () => {};
      }));
    }
    assert.deepEqual(outcomes, Array(10).fill('1009'));
  });

  test('headless Chromium sending a 5 MiB string → 1009, 10 of 10', async (t) => {
    const chromiumPath = '/usr/bin/chromium';
    let playwright: typeof import('playwright-core') | undefined;
    try {
      playwright = await import('playwright-core');
    } catch {
      playwright = undefined;
    }
    if (!existsSync(chromiumPath) || playwright === undefined) {
      t.skip(`needs ${chromiumPath} and playwright-core (${existsSync(chromiumPath) ? 'playwright-core missing' : 'chromium not installed'})`);
      return;
    }
    const browser = await playwright.chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    t.after(() => browser.close());
    const page = await browser.newPage();
    // A page from the server itself: its origin is a loopback origin, which the Origin check admits.
    await page.goto(`${server.httpUrl}/healthz`);
    const outcomes: string[] = [];
    for (let i = 0; i < 10; i++) {
      outcomes.push(
        await page.evaluate(
          ({ url, size }) =>
            new Promise<string>((resolve) => {
              const ws = new WebSocket(url, ['mcp']);
              ws.onopen = () => ws.send('x'.repeat(size));
              ws.onclose = (e) => resolve(`${e.code} clean=${e.wasClean}`);
            }),
          { url: server.wsUrl, size: 5 * MiB },
        ),
      );
    }
    // Code 1009 every time (before the fix: 1006 in about 3 of 10, and never a clean close). wasClean is
    // reported, not asserted: ws stops parsing the peer's frames after the bad one, so it cannot wait
    // for Chromium's close frame and half-closes right after its own; Chromium calls 10–30% of those
    // closes unclean. (Waiting for the peer's FIN instead made every close take Chromium's 2 s timeout.)
    t.diagnostic(`Chromium: ${outcomes.join(', ')}`);
    assert.deepEqual(outcomes.map((o) => o.split(' ')[0]), Array(10).fill('1009'));
  });
});

// ---------------------------------------------------------------------------------------------------

const INITIALIZE = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'defaults-test', version: '0' } } });
const POST_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };

/**
 * A refused upgrade through a pooled keep-alive agent (one socket), then a plain request on the same
 * agent: the refusal must say `Connection: close`, and the next request must not be sent on the socket
 * the server is dropping (it would fail with ECONNRESET or "socket hang up").
 */
async function refusedThenReuse(server: TestServer, headers: Record<string, string>, expectedStatus: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    // Warm the pool: the upgrade then goes out on a socket the agent already keeps.
    assert.equal((await httpCall(`${server.httpUrl}/healthz`, { agent })).status, 200);
    const refused = await httpCall(server.wsUrl.replace('ws:', 'http:'), { agent, headers: upgradeHeaders(headers) });
    assert.equal(refused.status, expectedStatus, refused.body);
    assert.equal(refused.headers.connection, 'close', `${expectedStatus} must say Connection: close (got ${refused.headers.connection})`);
    for (let i = 0; i < 3; i++) {
      const next = await httpCall(`${server.httpUrl}/healthz`, { agent });
      assert.equal(next.status, 200);
    }
  } finally {
    agent.destroy();
  }
}

/** `count` requests with these headers, `parallel` at a time over one keep-alive agent; their statuses. */
async function many(url: string, count: number, options: { method?: string; headers?: Record<string, string>; body?: string }, parallel = 16): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: parallel });
  const statuses: number[] = [];
  try {
    let next = 0;
    await Promise.all(Array.from({ length: parallel }, async () => {
      while (next < count) {
        next++;
        statuses.push((await httpCall(url, { ...options, agent })).status);
      }
    }));
  } finally {
    agent.destroy();
  }
  return statuses;
}

describe('defaults: every refused upgrade says Connection: close; a pooled client goes on', () => {
  let server: TestServer;
  const secret = randomSecret();
  let token: (sub: string) => Promise<string>;
  before(async () => {
    server = await startServer({ config: { AUTH_MODE: 'jwt', JWT_SECRET: secret } });
    token = (sub) => hsToken(secret, { audience: `${server.httpUrl}/mcp`, claims: { sub, scope: 'admin' } });
  });
  after(() => server.close());

  test('401 without a token', async () => {
    await refusedThenReuse(server, {}, 401);
  });

  test('403 for an Origin that is not allowed', async () => {
    await refusedThenReuse(server, { Origin: 'http://evil.example', ...bearer(await token('alice')) }, 403);
  });

  test('404 for an unknown session id (a resume of nothing)', async () => {
    await refusedThenReuse(server, { 'Mcp-Session-Id': 'no-such-session', 'Last-Event-ID': '0', ...bearer(await token('alice')) }, 404);
  });

  test(`429 after the default RATE_LIMIT_MAX (${DEFAULTS.RATE_LIMIT_MAX}) requests of one principal`, async () => {
    const headers = bearer(await token('flooder'));
    // GET /mcp without a session is a 400, but it counts: the limit runs before the route.
    const statuses = await many(`${server.httpUrl}/mcp`, DEFAULTS.RATE_LIMIT_MAX, { headers: { ...headers, Accept: 'text/event-stream' } });
    assert.equal(statuses.filter((s) => s === 429).length, 0);
    await refusedThenReuse(server, headers, 429);
  });

  test(`503 once the default MAX_SESSIONS (${DEFAULTS.MAX_SESSIONS}) sessions are open`, async () => {
    // 10,000 Streamable HTTP sessions from ten principals (each within its 1,000 requests per minute).
    const perPrincipal = DEFAULTS.RATE_LIMIT_MAX;
    const principals = Math.ceil(DEFAULTS.MAX_SESSIONS / perPrincipal);
    let created = 0;
    for (let p = 0; p < principals; p++) {
      const n = Math.min(perPrincipal, DEFAULTS.MAX_SESSIONS - created);
      const statuses = await many(`${server.httpUrl}/mcp`, n, { method: 'POST', headers: { ...POST_HEADERS, ...bearer(await token(`filler-${p}`)) }, body: INITIALIZE });
      assert.deepEqual([...new Set(statuses)], [200]);
      created += n;
    }
    await refusedThenReuse(server, bearer(await token('latecomer')), 503);
  });
});

describe('lowered limits: the same refusals from RATE_LIMIT_MAX=3 and MAX_SESSIONS=2', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ config: { RATE_LIMIT_MAX: 3, MAX_SESSIONS: 2 } });
  });
  after(() => server.close());

  test('503 at MAX_SESSIONS, then 429 past RATE_LIMIT_MAX', async () => {
    // Two sessions (2 requests), the refused third (3), then the fourth request is over the limit.
    for (let i = 0; i < 2; i++) assert.equal((await httpCall(`${server.httpUrl}/mcp`, { method: 'POST', headers: POST_HEADERS, body: INITIALIZE })).status, 200);
    await refusedThenReuse(server, {}, 503);
    await refusedThenReuse(server, {}, 429);
  });
});

// ---------------------------------------------------------------------------------------------------

interface SlowClient {
  /** Milliseconds from the first byte sent until the server closed the connection. */
  cutAfterMs: Promise<number>;
  /** What the server sent back. */
  received(): string;
  stop(): void;
}

/** How long a slow client waits for the server to cut it before the test gives up (reported as Infinity). */
const GIVE_UP_MS = 60_000;

/** A client that sends `first` at once and then one byte of `dribble` every `intervalMs` (never all of it). */
function slowClient(port: number, first: string, dribble = '', intervalMs = 1000): SlowClient {
  const socket = netConnect(port, '127.0.0.1');
  let received = '';
  let timer: NodeJS.Timeout | undefined;
  let started = 0;
  socket.setEncoding('utf8').on('data', (d: string) => (received += d));
  socket.on('error', () => {});
  const cutAfterMs = new Promise<number>((resolve) => {
    const giveUp = setTimeout(() => {
      resolve(Infinity);
      socket.destroy();
    }, GIVE_UP_MS);
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve(performance.now() - started);
    });
  });
  socket.on('connect', () => {
    started = performance.now();
    socket.write(first);
    let i = 0;
    if (dribble !== '') timer = setInterval(() => socket.write(dribble[i++ % dribble.length]!), intervalMs);
  });
  return { cutAfterMs, received: () => received, stop: () => socket.destroy() };
}

/** A POST whose headers promise 1,000 bytes of body; half of it comes, then nothing. */
function stalledBody(port: number): SlowClient {
  const head = `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n`;
  return slowClient(port, head + '{"jsonrpc":"2.0",'.padEnd(500, ' '));
}

/** Request headers that never end: one byte per second. */
function dribbledHeaders(port: number): SlowClient {
  return slowClient(port, `GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Slow: `, 'abcdefghijklmnopqrstuvwxyz', 1000);
}

/** Calls echo and GET /healthz in a loop until stopped; counts what worked and what failed. */
function busyClient(server: TestServer) {
  let stopped = false;
  const counts = { ok: 0, failed: [] as string[] };
  const done = (async () => {
    const client = await connectSdkClient(`${server.httpUrl}/mcp`, 'busy');
    try {
      while (!stopped) {
        try {
          const r = await client.callTool({ name: 'echo', arguments: { message: 'still here' } });
          assert.equal((r.content as Array<{ text: string }>)[0]!.text, 'still here');
          assert.equal((await fetch(`${server.httpUrl}/healthz`)).status, 200);
          counts.ok++;
        } catch (err) {
          counts.failed.push(String(err));
        }
        await sleep(250);
      }
    } finally {
      await client.close();
    }
  })();
  return { counts, stop: async () => { stopped = true; await done; } };
}

/** Open connections that must outlive the request timeouts: a legacy SSE stream and a WebSocket. */
async function longLivedConnections(server: TestServer) {
  const sse = await openSse(`${server.httpUrl}/mcp/sse`);
  const endpoint = await sse.waitFor((e) => e.event === 'endpoint');
  installWebSocketGlobal();
  const ws = await connectSdkClient(server.wsUrl, 'long-lived-ws');
  let sseEnded = false;
  void sse.ended.then(() => (sseEnded = true));
  return {
    /** Both still work: a request on each is answered (the SSE one comes down the stream). */
    async stillOpen(): Promise<void> {
      assert.equal(sseEnded, false, 'the SSE stream was cut');
      const post = await httpCall(`${server.httpUrl}${endpoint.data}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 'late', method: 'ping' }) });
      assert.equal(post.status, 202);
      await sse.waitFor((e) => e.data.includes('"late"'));
      assert.deepEqual(await ws.ping(), {});
    },
    async close() {
      sse.destroy();
      await ws.close();
    },
  };
}

describe('defaults: a stalled body and dribbled headers are cut at the default timeouts, others served', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  test(`dribbled headers cut at HTTP_HEADERS_TIMEOUT_MS (${DEFAULTS.HTTP_HEADERS_TIMEOUT_MS} ms), a stalled body at HTTP_BODY_TIMEOUT_MS (${DEFAULTS.HTTP_BODY_TIMEOUT_MS} ms)`, async (t) => {
    const open = await longLivedConnections(server);
    const busy = busyClient(server);
    const dribbler = dribbledHeaders(server.port);
    const staller = stalledBody(server.port);
    try {
      const [dribbleCut, stallCut] = await Promise.all([dribbler.cutAfterMs, staller.cutAfterMs]);
      t.diagnostic(`dribbled headers cut after ${Math.round(dribbleCut)} ms, stalled body after ${Math.round(stallCut)} ms`);
      // Node checks the timeouts every HTTP_TIMEOUT_CHECK_INTERVAL_MS (1 s); allow that and a loaded machine.
      const slack = DEFAULTS.HTTP_TIMEOUT_CHECK_INTERVAL_MS + 2_000;
      assert.ok(dribbleCut >= DEFAULTS.HTTP_HEADERS_TIMEOUT_MS - 100 && dribbleCut <= DEFAULTS.HTTP_HEADERS_TIMEOUT_MS + slack, `dribbled headers cut after ${dribbleCut} ms`);
      assert.ok(stallCut >= DEFAULTS.HTTP_BODY_TIMEOUT_MS - 100 && stallCut <= DEFAULTS.HTTP_BODY_TIMEOUT_MS + slack, `stalled body cut after ${stallCut} ms`);
      assert.match(dribbler.received(), /^HTTP\/1\.1 408 /);
      assert.match(staller.received(), /^HTTP\/1\.1 408 /);
      // Past 30 s: the SSE stream and the WebSocket opened before are still there.
      await open.stillOpen();
    } finally {
      dribbler.stop();
      staller.stop();
      await busy.stop();
      await open.close();
    }
    assert.deepEqual(busy.counts.failed, []);
    assert.ok(busy.counts.ok >= 40, `the third client was served meanwhile (${busy.counts.ok} rounds)`);
  });
});

describe('lowered timeouts: the cut follows the settings; streams and WebSockets are not cut', () => {
  const HEADERS_MS = 2_000;
  const BODY_MS = 3_000;
  let server: TestServer;
  before(async () => {
    server = await startServer({ config: { HTTP_HEADERS_TIMEOUT_MS: HEADERS_MS, HTTP_BODY_TIMEOUT_MS: BODY_MS } });
  });
  after(() => server.close());

  test(`dribbled headers cut at ${HEADERS_MS} ms, a stalled body at ${BODY_MS} ms; an SSE stream, a WebSocket and a long POST stream live on`, async (t) => {
    const open = await longLivedConnections(server);
    const busy = busyClient(server);
    // A call that answers on a POST's SSE stream after ~4.5 s, longer than the body timeout.
    const longCall = (async () => {
      const client = await connectSdkClient(`${server.httpUrl}/mcp`, 'long-call');
      try {
        const started = performance.now();
        const r = await client.callTool({ name: 'process_batch', arguments: { count: 9, delayMs: 500 } }, undefined, { onprogress: () => {} });
        return { ms: performance.now() - started, text: (r.content as Array<{ text: string }>)[0]!.text };
      } finally {
        await client.close();
      }
    })();
    const dribbler = dribbledHeaders(server.port);
    const staller = stalledBody(server.port);
    try {
      const [dribbleCut, stallCut] = await Promise.all([dribbler.cutAfterMs, staller.cutAfterMs]);
      t.diagnostic(`dribbled headers cut after ${Math.round(dribbleCut)} ms, stalled body after ${Math.round(stallCut)} ms`);
      const slack = DEFAULTS.HTTP_TIMEOUT_CHECK_INTERVAL_MS + 1_500;
      assert.ok(dribbleCut >= HEADERS_MS - 100 && dribbleCut <= HEADERS_MS + slack, `dribbled headers cut after ${dribbleCut} ms`);
      assert.ok(stallCut >= BODY_MS - 100 && stallCut <= BODY_MS + slack, `stalled body cut after ${stallCut} ms`);
      assert.match(staller.received(), /^HTTP\/1\.1 408 /);
      const call = await longCall;
      assert.ok(call.ms > BODY_MS, `the long call took ${call.ms} ms`);
      assert.match(call.text, /9/);
      await sleep(Math.max(0, BODY_MS + 1_500 - call.ms));
      await open.stillOpen();
    } finally {
      dribbler.stop();
      staller.stop();
      await busy.stop();
      await open.close();
    }
    assert.deepEqual(busy.counts.failed, []);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('defaults: an ordinary client reads the 413 for a body over MAX_PAYLOAD_BYTES', () => {
  let server: TestServer;
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(5 * MiB) } });
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  function assertPayloadTooLarge(status: number, text: string): void {
    assert.equal(status, 413);
    const answer = JSON.parse(text);
    assert.equal(answer.jsonrpc, '2.0');
    assert.equal(answer.id, null);
    assert.equal(answer.error.code, -32600);
    assert.match(answer.error.message, /too large/i);
  }

  test('fetch: 10 of 10 get 413 and the JSON-RPC error', async () => {
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${server.httpUrl}/mcp`, { method: 'POST', headers: POST_HEADERS, body });
      assertPayloadTooLarge(res.status, await res.text());
    }
    assert.equal((await fetch(`${server.httpUrl}/healthz`)).status, 200);
  });

  test('http.request writing 5 MiB: 10 of 10 get 413 and the JSON-RPC error; the agent goes on', async () => {
    for (let i = 0; i < 10; i++) {
      const res = await httpCall(`${server.httpUrl}/mcp`, { method: 'POST', headers: { ...POST_HEADERS, 'Content-Length': Buffer.byteLength(body) }, body });
      assertPayloadTooLarge(res.status, res.body);
      assert.equal(res.headers.connection, 'close');
      assert.equal((await httpCall(`${server.httpUrl}/healthz`)).status, 200);
    }
  });
});

// ---------------------------------------------------------------------------------------------------

describe('defaults: a dropped WebSocket counts as detached until it is resumed', () => {
  let server: TestServer;
  let watcher: Client;
  before(async () => {
    server = await startServer();
    watcher = await connectSdkClient(`${server.httpUrl}/mcp`, 'watcher');
  });
  after(async () => {
    await watcher.close();
    await server.close();
  });

  async function detached(): Promise<{ stats: number; metrics: number }> {
    const read = await watcher.readResource({ uri: 'realtime://server/stats' });
    const stats = JSON.parse((read.contents[0] as { text: string }).text);
    const scrape = await httpCall(`${server.httpUrl}/metrics`);
    assert.equal(scrape.status, 200, scrape.body); // AUTH_MODE=none from loopback may scrape
    const line = /^realtime_mcp_sessions_detached (\d+)$/m.exec(scrape.body);
    assert.ok(line, 'realtime_mcp_sessions_detached is in /metrics');
    return { stats: stats.sessions.detached, metrics: Number(line[1]) };
  }

  async function until(check: () => Promise<boolean>, what: string): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (!(await check())) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await sleep(20);
    }
  }

  test('terminate (no close frame) → detached 1 in stats and /metrics; resume → 0', async () => {
    assert.deepEqual(await detached(), { stats: 0, metrics: 0 });
    const { openRaw } = await import('./helpers/raw-ws.js');
    const first = await openRaw(server.wsUrl);
    const sessionId = first.upgrade.headers['mcp-session-id'] as string;
    await first.initialize();
    first.send({ jsonrpc: '2.0', id: 'p', method: 'ping' });
    await first.waitFor((m) => m.id === 'p');
    const framesReceived = first.received.length;
    first.ws.terminate();
    await until(async () => (await detached()).stats === 1, 'the session to count as detached');
    assert.deepEqual(await detached(), { stats: 1, metrics: 1 });

    const resumed = await openRaw(server.wsUrl, { headers: { 'Mcp-Session-Id': sessionId, 'Last-Event-ID': String(framesReceived) } });
    try {
      assert.equal(resumed.upgrade.headers['mcp-session-id'], sessionId);
      await until(async () => (await detached()).stats === 0, 'the resumed session to count as attached');
      assert.deepEqual(await detached(), { stats: 0, metrics: 0 });
      resumed.send({ jsonrpc: '2.0', id: 'after-resume', method: 'ping' });
      assert.deepEqual((await resumed.waitFor((m) => m.id === 'after-resume')).result, {});
    } finally {
      resumed.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------

/**
 * Sends log messages bigger than SEND_HIGH_WATER_BYTES (each makes the connection congested) and calls
 * ctx.checkpoint() after each, which then waits for the client; reports the most abort listeners seen.
 */
const congestTool = defineTool({
  name: 'congest',
  description: 'Checkpoints on a congested connection while sampling the abort listeners of ctx.signal',
  inputSchema: Type.Object({ rounds: Type.Integer({ minimum: 1 }) }),
  async handler({ rounds }, ctx) {
    const op = ctx as unknown as Operation;
    const signal = ctx.signal;
    let most = 0;
    const sample = () => (most = Math.max(most, getEventListeners(signal, 'abort').length));
    const sampler = setInterval(sample, 1);
    const chunk = 'x'.repeat(DEFAULTS.SEND_HIGH_WATER_BYTES + 256 * 1024);
    let congested = 0;
    try {
      for (let i = 0; i < rounds; i++) {
        ctx.log('info', chunk);
        if (op.session.congested) congested++;
        const wait = ctx.checkpoint();
        sample();
        await wait;
        sample();
      }
    } finally {
      clearInterval(sampler);
    }
    return JSON.stringify({ most, congested, rounds });
  },
});

describe('defaults: ctx.checkpoint() on a congested connection adds no abort listeners', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ tools: [congestTool] });
  });
  after(() => server.close());

  test(`a paused client that reads in short bursts keeps the server over SEND_HIGH_WATER_BYTES (${DEFAULTS.SEND_HIGH_WATER_BYTES}); listeners stay ≤ 2 over hundreds of checkpoints`, async (t) => {
    const { openRaw } = await import('./helpers/raw-ws.js');
    const c = await openRaw(server.wsUrl);
    await c.initialize();
    c.send({ jsonrpc: '2.0', id: 'congest', method: 'tools/call', params: { name: 'congest', arguments: { rounds: 250 } } });
    // Read 1 ms in every 10 ms: the server's queue stays over the high-water mark most of the time.
    let answered = false;
    const reader = (async () => {
      while (!answered) {
        c.ws.pause();
        await sleep(9);
        c.ws.resume();
        await sleep(1);
      }
    })();
    const answer = await c.waitFor((m) => m.id === 'congest', 120_000);
    answered = true;
    await reader;
    c.close();
    const report = JSON.parse(answer.result.content[0].text);
    t.diagnostic(`checkpoints: ${report.rounds}, on a congested connection: ${report.congested}, most abort listeners: ${report.most}`);
    assert.ok(report.congested >= 200, `the connection was congested at ${report.congested} checkpoints (want hundreds)`);
    assert.ok(report.most <= 2, `ctx.signal had ${report.most} abort listeners`);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('defaults with AUTH_MODE=none: no protected-resource metadata, and nothing points to it', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ config: { AUTH_MODE: 'none' } });
  });
  after(() => server.close());

  test('/.well-known/oauth-protected-resource (and /mcp) → 404', async () => {
    for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
      assert.equal((await httpCall(`${server.httpUrl}${path}`)).status, 404, path);
    }
  });

  test('no 403 carries a resource_metadata (POST /admin/notify, a foreign Origin)', async () => {
    const refusals = [
      await httpCall(`${server.httpUrl}/admin/notify`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"message":"hi"}' }),
      await httpCall(`${server.httpUrl}/mcp`, { method: 'POST', headers: { ...POST_HEADERS, Origin: 'http://evil.example' }, body: INITIALIZE }),
      await httpCall(server.wsUrl.replace('ws:', 'http:'), { headers: upgradeHeaders({ Origin: 'http://evil.example' }) }),
    ];
    for (const r of refusals) {
      assert.equal(r.status, 403);
      assert.doesNotMatch(JSON.stringify(r.headers), /resource_metadata|oauth-protected-resource/);
      assert.doesNotMatch(r.body, /resource_metadata|oauth-protected-resource/);
    }
    assert.match(String(refusals[0]!.headers['www-authenticate']), /^Bearer error="insufficient_scope"/);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('defaults: shutdown is not held by clients that never finish a request', () => {
  // HTTP clients open connections ahead of use (undici, browsers), and slow or stalled uploads may be
  // under way. Node's server.close() waited for all of them, and close() also stops the header and body
  // timeouts: app.close() waited for the client (73 s for undici's spare connection, forever for a
  // stalled body), past the process's hard stop (exit 1).
  async function heldConnections(port: number) {
    const unused = netConnect(port, '127.0.0.1');
    unused.on('error', () => {});
    await new Promise((resolve) => unused.once('connect', resolve));
    const staller = stalledBody(port);
    const dribbler = dribbledHeaders(port);
    await sleep(300); // the stalled request's headers are in
    return () => {
      unused.destroy();
      staller.stop();
      dribbler.stop();
    };
  }

  test('app.close() ends at once with an unused connection, an idle keep-alive one, a stalled body and dribbled headers', async () => {
    const server = await startServer();
    const release = await heldConnections(server.port);
    const agent = new Agent({ keepAlive: true });
    assert.equal((await httpCall(`${server.httpUrl}/healthz`, { agent })).status, 200);
    const started = performance.now();
    const closed = await Promise.race([server.close().then(() => true), sleep(5_000, false, { ref: false })]);
    release();
    agent.destroy();
    assert.ok(closed, 'app.close() still waiting after 5 s');
    assert.ok(performance.now() - started < 2_000, `app.close() took ${Math.round(performance.now() - started)} ms`);
  });

  test('the server process (npm start) exits 0 on SIGTERM within the grace period, whatever its clients hold', async () => {
    const { startChildServer, stopChild } = await import('./helpers/child-server.js');
    const child = await startChildServer();
    try {
      const release = await heldConnections(child.port);
      assert.equal((await fetch(`${child.httpUrl}/healthz`)).status, 200); // leaves undici's keep-alive socket
      const started = performance.now();
      child.child.kill('SIGTERM');
      const exit = await Promise.race([child.exited, sleep(30_000, undefined, { ref: false })]);
      release();
      assert.ok(exit, 'still running 30 s after SIGTERM');
      assert.equal(exit.code, 0, `exit code ${exit.code} after ${Math.round(performance.now() - started)} ms: ${child.output().stderr}`);
      assert.ok(performance.now() - started < DEFAULTS.SHUTDOWN_GRACE_MS, `exit took ${Math.round(performance.now() - started)} ms`);
    } finally {
      await stopChild(child);
    }
  });
});
