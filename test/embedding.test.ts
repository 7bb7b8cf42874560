// The plugin inside someone else's Fastify app, through the package entry (plugins/index.ts):
//   app.register(realtimeMcp, { prefix: '/v1', tools: [myTool], auth: { mode: 'none' } })
// The host's own routes answer exactly as they do without the plugin (status, body, headers: no CORS,
// auth, rate-limit or Origin checks leak onto them); the SDK client works on every transport under the
// prefix and the URLs the plugin sends carry it; with JWT auth the challenge and the RFC 9728 metadata
// live under the prefix; two instances in one app keep their tools apart on WebSocket and Streamable
// HTTP (they share one HTTP server's upgrade handling); and an app that registered @fastify/websocket
// itself still serves /v1/mcp/ws.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyWebsocket from '@fastify/websocket';
import Type from 'typebox';
import { WebSocket } from 'ws';
import { realtimeMcp, defineTool, type RealtimeMcpOptions } from '../plugins/index.js';
import { connectSdkClient, installWebSocketGlobal } from './helpers/sdk-client.js';
import { openSse } from './helpers/sse-client.js';
import { hsToken, randomSecret, bearer } from './helpers/tokens.js';

/** Reports `steps` progress notifications, then answers. */
function progressTool(name: string) {
  return defineTool({
    name,
    description: `${name}: counts to steps with progress`,
    inputSchema: Type.Object({ steps: Type.Integer({ minimum: 1, maximum: 100 }) }),
    async handler({ steps }, ctx) {
      for (let i = 1; i <= steps; i++) {
        ctx.progress({ progress: i, total: steps, message: `step ${i}` });
        await ctx.checkpoint();
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      return `${name} counted to ${steps}`;
    },
  });
}

const myTool = progressTool('my_tool');

/** The host application's own routes. */
function hostRoutes(app: FastifyInstance): void {
  app.get('/admin/users', async () => [{ id: 1, name: 'Ada' }]);
  app.get('/metrics', async (_request, reply) => reply.type('text/plain; version=0.0.4').send('host_requests_total 7\n'));
  app.get('/hello', async () => ({ hello: 'world' }));
  app.post('/api/things', async (request, reply) => reply.code(201).send({ created: request.body }));
}

interface Host {
  app: FastifyInstance;
  url: string;
  port: number;
  /** What the app logged at warn level or above (its logger is otherwise quiet). */
  warnings: Array<{ level: number; msg: string }>;
  close(): Promise<void>;
}

async function startHost(setup: (app: FastifyInstance) => Promise<void> | void): Promise<Host> {
  const warnings: Host['warnings'] = [];
  const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => void warnings.push(JSON.parse(line)) } } });
  hostRoutes(app);
  await setup(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { app, port, url: `http://127.0.0.1:${port}`, warnings, close: () => app.close() };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request on its own connection (no agent), so the headers are exactly what the server sent. */
function call(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers, agent: false });
    req.on('error', reject);
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.end(options.body);
  });
}

/** Requests to the host's routes, including ones a guard would refuse (foreign Origin, junk token). */
const HOST_REQUESTS: Array<{ name: string; path: string; method?: string; headers?: Record<string, string>; body?: string }> = [
  { name: 'GET /admin/users', path: '/admin/users' },
  { name: 'GET /admin/users with a junk token', path: '/admin/users', headers: { Authorization: 'Bearer junk' } },
  { name: 'GET /metrics', path: '/metrics' },
  { name: 'GET /hello', path: '/hello' },
  { name: 'GET /hello from a foreign Origin', path: '/hello', headers: { Origin: 'http://evil.example' } },
  { name: 'GET /hello with an unknown Host', path: '/hello', headers: { Host: 'rebind.example' } },
  { name: 'OPTIONS /hello (preflight)', path: '/hello', method: 'OPTIONS', headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'GET' } },
  { name: 'POST /api/things', path: '/api/things', method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"name":"widget","n":3}' },
  { name: 'POST /api/things, bad JSON', path: '/api/things', method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"name":' },
  { name: 'POST /api/things, text/plain', path: '/api/things', method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'hello' },
  { name: 'GET /nope', path: '/nope' },
];

async function hostAnswers(host: Host): Promise<Map<string, Answer>> {
  const answers = new Map<string, Answer>();
  for (const r of HOST_REQUESTS) {
    const answer = await call(`${host.url}${r.path}`, r);
    delete answer.headers.date;
    answers.set(r.name, answer);
  }
  return answers;
}

/** Lists tools and calls `tool` with progress over `url` with the SDK client. */
async function exerciseSdk(url: string, tool: string, steps = 5): Promise<{ tools: string[]; text: string; progress: number[] }> {
  const client = await connectSdkClient(url, 'embedding-test');
  try {
    const tools = (await client.listTools()).tools.map((t) => t.name);
    const progress: number[] = [];
    const result = await client.callTool({ name: tool, arguments: { steps } }, undefined, { onprogress: (p) => progress.push(p.progress) });
    return { tools, text: (result.content as Array<{ text: string }>)[0]!.text, progress };
  } finally {
    await client.close();
  }
}

describe('embedded in a host app under /v1, auth none', () => {
  let plain: Host;
  let embedded: Host;
  const options: RealtimeMcpOptions = { prefix: '/v1', tools: [myTool], auth: { mode: 'none' } };
  before(async () => {
    installWebSocketGlobal();
    plain = await startHost(() => {});
    embedded = await startHost(async (app) => {
      await app.register(realtimeMcp, options);
    });
  });
  after(async () => {
    await plain.close();
    await embedded.close();
  });

  test("the host's routes answer exactly as without the plugin (status, body, headers)", async () => {
    const without = await hostAnswers(plain);
    const withPlugin = await hostAnswers(embedded);
    for (const r of HOST_REQUESTS) assert.deepEqual(withPlugin.get(r.name), without.get(r.name), r.name);
    // And concretely: /hello has no CORS, auth or rate-limit header.
    const hello = withPlugin.get('GET /hello from a foreign Origin')!;
    assert.equal(hello.status, 200);
    for (const name of Object.keys(hello.headers)) assert.doesNotMatch(name, /^(access-control-|www-authenticate|ratelimit|x-ratelimit|retry-after)/, name);
  });

  for (const [transport, path] of [['WebSocket', '/v1/mcp/ws'], ['legacy SSE', '/v1/mcp/sse'], ['Streamable HTTP', '/v1/mcp']] as const) {
    test(`SDK client over ${transport} (${path}): lists my_tool, calls it with progress`, async () => {
      const base = path.endsWith('/ws') ? embedded.url.replace('http:', 'ws:') : embedded.url;
      const r = await exerciseSdk(`${base}${path}`, 'my_tool');
      assert.deepEqual(r.tools, ['my_tool']);
      assert.equal(r.text, 'my_tool counted to 5');
      assert.deepEqual(r.progress, [1, 2, 3, 4, 5]);
    });
  }

  test('the SSE endpoint event carries /v1/mcp/messages', async () => {
    const sse = await openSse(`${embedded.url}/v1/mcp/sse`);
    try {
      const endpoint = await sse.waitFor((e) => e.event === 'endpoint');
      assert.match(endpoint.data, /^\/v1\/mcp\/messages\?sessionId=[\w-]+$/);
    } finally {
      sse.destroy();
    }
  });

  test('nothing of the plugin answers outside its prefix', async () => {
    for (const path of ['/mcp', '/mcp/ws', '/healthz', '/.well-known/oauth-protected-resource']) {
      assert.equal((await call(`${embedded.url}${path}`)).status, 404, path);
    }
    assert.equal((await call(`${embedded.url}/v1/healthz`)).status, 200);
  });
});

describe('embedded under /v1 with JWT auth', () => {
  let host: Host;
  const secret = randomSecret();
  before(async () => {
    host = await startHost(async (app) => {
      await app.register(realtimeMcp, { prefix: '/v1', tools: [myTool], auth: { mode: 'jwt', secret } });
    });
  });
  after(() => host.close());

  test('/v1/mcp without a token → 401 whose resource_metadata is under /v1 and answers RFC 9728 metadata; /hello → 200', async () => {
    const refused = await call(`${host.url}/v1/mcp`, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' }, body: '{}' });
    assert.equal(refused.status, 401);
    const challenge = String(refused.headers['www-authenticate']);
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge)?.[1];
    assert.equal(metadataUrl, `${host.url}/v1/.well-known/oauth-protected-resource/mcp`, challenge);
    const metadata = await call(metadataUrl!);
    assert.equal(metadata.status, 200);
    assert.equal(JSON.parse(metadata.body).resource, `${host.url}/v1/mcp`);

    const hello = await call(`${host.url}/hello`);
    assert.equal(hello.status, 200);
    assert.equal(hello.headers['www-authenticate'], undefined);
  });

  test('a token for the /v1/mcp resource works (Streamable HTTP and WebSocket)', async () => {
    const token = await hsToken(secret, { audience: `${host.url}/v1/mcp` });
    installWebSocketGlobal(bearer(token));
    try {
      for (const url of [`${host.url}/v1/mcp`, `${host.url.replace('http:', 'ws:')}/v1/mcp/ws`]) {
        const r = await exerciseSdk(url, 'my_tool', 2);
        assert.deepEqual(r.tools, ['my_tool'], url);
        assert.equal(r.text, 'my_tool counted to 2', url);
      }
    } finally {
      installWebSocketGlobal();
    }
  });
});

describe('two instances in one app (/a with tool_a, /b with tool_b)', () => {
  let host: Host;
  before(async () => {
    installWebSocketGlobal();
    host = await startHost(async (app) => {
      await app.register(realtimeMcp, { prefix: '/a', tools: [progressTool('tool_a')], auth: { mode: 'none' } });
      await app.register(realtimeMcp, { prefix: '/b', tools: [progressTool('tool_b')], auth: { mode: 'none' } });
    });
  });
  after(() => host.close());

  for (const transport of ['WebSocket', 'Streamable HTTP'] as const) {
    test(`each lists and calls only its own tool over ${transport}, several times`, async () => {
      for (let round = 0; round < 3; round++) {
        for (const name of ['a', 'b']) {
          const url = transport === 'WebSocket' ? `${host.url.replace('http:', 'ws:')}/${name}/mcp/ws` : `${host.url}/${name}/mcp`;
          const r = await exerciseSdk(url, `tool_${name}`, 3);
          assert.deepEqual(r.tools, [`tool_${name}`], url);
          assert.equal(r.text, `tool_${name} counted to 3`);
          assert.deepEqual(r.progress, [1, 2, 3]);
        }
      }
      assert.deepEqual(host.warnings.map((w) => w.msg), []);
    });
  }

  test('an upgrade is handled once: a raw WebSocket on each prefix gets one 101 and answers pings', async () => {
    for (const name of ['a', 'b']) {
      const ws = new WebSocket(`${host.url.replace('http:', 'ws:')}/${name}/mcp/ws`, ['mcp']);
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }));
      const answer = await new Promise<string>((resolve) => ws.once('message', (d) => resolve(String(d))));
      assert.deepEqual(JSON.parse(answer), { jsonrpc: '2.0', id: 1, result: {} });
      ws.close();
    }
  });
});

describe('two instances: each upgrade goes through one instance\'s hooks once', () => {
  // Were both instances listening for 'upgrade' on the shared server, every upgrade would be routed
  // twice (and the second handleUpgrade would fail quietly): the rate limit would count 2 per socket.
  let host: Host;
  before(async () => {
    host = await startHost(async (app) => {
      await app.register(realtimeMcp, { prefix: '/a', tools: [progressTool('tool_a')], auth: { mode: 'none' }, rateLimitMax: 3 });
      await app.register(realtimeMcp, { prefix: '/b', tools: [progressTool('tool_b')], auth: { mode: 'none' }, rateLimitMax: 3 });
    });
  });
  after(() => host.close());

  test('rateLimitMax: 3 → three WebSockets open on each prefix, the fourth is refused with 429', async () => {
    const { tryUpgrade } = await import('./helpers/upgrade.js');
    for (const name of ['a', 'b']) {
      const url = `${host.url.replace('http:', 'ws:')}/${name}/mcp/ws`;
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await tryUpgrade(url)).status);
      assert.deepEqual(statuses, [101, 101, 101, 429], `/${name}`);
    }
    // A second 'upgrade' listener would route each upgrade again; that fails on the socket already
    // taken (ERR_HTTP_SOCKET_ASSIGNED), which @fastify/websocket logs as "websocket upgrade failed".
    assert.deepEqual(host.warnings.map((w) => w.msg), []);
  });
});

describe("a host that registered @fastify/websocket itself, before the plugin", () => {
  let host: Host;
  before(async () => {
    installWebSocketGlobal();
    host = await startHost(async (app) => {
      await app.register(fastifyWebsocket);
      app.get('/host-ws', { websocket: true }, (socket) => {
        socket.on('message', (data) => socket.send(`host echo: ${String(data)}`));
      });
      await app.register(realtimeMcp, { prefix: '/v1', tools: [myTool], auth: { mode: 'none' } });
    });
  });
  after(() => host.close());

  test('/v1/mcp/ws works with the SDK client, and the host\'s own WebSocket route still works', async () => {
    const r = await exerciseSdk(`${host.url.replace('http:', 'ws:')}/v1/mcp/ws`, 'my_tool', 3);
    assert.deepEqual(r.tools, ['my_tool']);
    assert.equal(r.text, 'my_tool counted to 3');
    assert.deepEqual(r.progress, [1, 2, 3]);

    const ws = new WebSocket(`${host.url.replace('http:', 'ws:')}/host-ws`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send('hi');
    assert.equal(await new Promise<string>((resolve) => ws.once('message', (d) => resolve(String(d)))), 'host echo: hi');
    ws.close();
  });
});
