// GET /metrics with real curl: Prometheus text with sessions by transport, calls running, tool calls by
// tool and process figures, read live from the server; who may scrape (without auth: callers on this
// machine only, X-Forwarded-For honoured only from TRUSTED_PROXIES; with JWT: the metrics or admin scope).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import Type from 'typebox';
import { defineTool } from '../src/tools/define.js';
import type { Config } from '../src/config.js';
import { startServer, type TestServer } from './helpers/server.js';
import { connectSdkClient, installWebSocketGlobal } from './helpers/sdk-client.js';
import { curl } from './helpers/curl.js';
import { bearer, hsToken, randomSecret, TEST_ISSUER } from './helpers/tokens.js';
import { waitUntil } from './helpers/wait.js';

const deployTool = defineTool({ name: 'deploy', description: 'Needs deploy:write', inputSchema: Type.Object({}), scopes: ['deploy:write'], handler: () => 'deployed' });

async function serverFor(t: TestContext, config: Partial<Config> = {}): Promise<TestServer> {
  const server = await startServer({ config, tools: [deployTool] });
  t.after(() => server.close());
  return server;
}

interface Scrape {
  status: number;
  contentType: string;
  wwwAuthenticate: string;
  body: string;
  /** `name{labels}` (exactly as printed) → value. */
  samples: Map<string, number>;
}

/** curl -i the metrics endpoint and parse the exposition text. */
async function scrape(server: TestServer, headers: Record<string, string> = {}): Promise<Scrape> {
  const args = ['-s', '-i', `${server.httpUrl}/metrics`];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  const { stdout, exitCode } = await curl(args);
  assert.equal(exitCode, 0);
  const cut = stdout.indexOf('\r\n\r\n');
  const head = stdout.slice(0, cut);
  const body = stdout.slice(cut + 4);
  const header = (name: string) => new RegExp(`^${name}: (.*)$`, 'im').exec(head)?.[1]?.trim() ?? '';
  const samples = new Map<string, number>();
  for (const line of body.split('\n')) {
    const m = /^([a-z_:][a-z0-9_:]*(?:\{[^}]*\})?) (\S+)$/i.exec(line);
    if (m) samples.set(m[1]!, Number(m[2]));
  }
  return { status: Number(/^HTTP\/[\d.]+ (\d+)/.exec(head)?.[1]), contentType: header('content-type'), wwwAuthenticate: header('www-authenticate'), body, samples };
}


describe('GET /metrics without authentication', () => {
  test('serves Prometheus text that follows sessions, running calls and tool calls', async (t) => {
    const server = await serverFor(t);
    const idle = await scrape(server);
    assert.equal(idle.status, 200);
    assert.match(idle.contentType, /^text\/plain; version=0\.0\.4/);
    assert.match(idle.body, /^# HELP realtime_mcp_sessions /m);
    assert.match(idle.body, /^# TYPE realtime_mcp_tool_calls_total counter$/m);
    for (const transport of ['ws', 'sse', 'streamable']) assert.equal(idle.samples.get(`realtime_mcp_sessions{transport="${transport}"}`), 0);
    assert.equal(idle.samples.get('realtime_mcp_calls_running'), 0);
    assert.equal(idle.samples.get('realtime_mcp_calls_queued'), 0);
    assert.ok(idle.samples.get('process_resident_memory_bytes')! > 0);
    assert.ok(idle.samples.has('nodejs_eventloop_lag_p99_seconds'));
    assert.ok(idle.samples.get('process_cpu_seconds_total')! > 0);

    const ws = await connectSdkClient(server.wsUrl);
    const http = await connectSdkClient(`${server.httpUrl}/mcp`);
    t.after(() => Promise.all([ws.close(), http.close()]));
    let progress = 0;
    const call = ws.callTool({ name: 'process_batch', arguments: { count: 40, delayMs: 20 } }, undefined, { onprogress: (p) => (progress = p.progress) });
    await waitUntil(async () => progress >= 1, 'the call to be running');
    const busy = await scrape(server);
    assert.equal(busy.samples.get('realtime_mcp_sessions{transport="ws"}'), 1);
    assert.equal(busy.samples.get('realtime_mcp_sessions{transport="streamable"}'), 1);
    assert.equal(busy.samples.get('realtime_mcp_calls_running'), 1);
    assert.equal(busy.samples.get('realtime_mcp_tool_calls_total{tool="process_batch"}'), 1);
    await call;
    await http.callTool({ name: 'echo', arguments: { message: 'hi' } });
    const after = await scrape(server);
    assert.equal(after.samples.get('realtime_mcp_calls_running'), 0);
    assert.equal(after.samples.get('realtime_mcp_tool_calls_total{tool="process_batch"}'), 1);
    assert.equal(after.samples.get('realtime_mcp_tool_calls_total{tool="echo"}'), 1);
  });

  test('answers only callers on this machine: a client behind a trusted proxy gets 403', async (t) => {
    const proxied = await serverFor(t, { TRUSTED_PROXIES: '127.0.0.1' });
    assert.equal((await scrape(proxied, { 'X-Forwarded-For': '203.0.113.9' })).status, 403);
    assert.equal((await scrape(proxied, { 'X-Forwarded-For': '127.0.0.1' })).status, 200);
    // Without TRUSTED_PROXIES the header is not believed, so it cannot be used to look remote or local.
    const direct = await serverFor(t);
    assert.equal((await scrape(direct, { 'X-Forwarded-For': '203.0.113.9' })).status, 200);
  });
});

describe('GET /metrics with JWT auth', () => {
  test('needs a token with the metrics or admin scope; calls refused for a missing tool scope are not counted', async (t) => {
    const secret = randomSecret();
    const server = await serverFor(t, { AUTH_MODE: 'jwt', JWT_SECRET: secret, JWT_ISSUER: TEST_ISSUER });
    const token = (scope?: string) => hsToken(secret, { audience: `${server.httpUrl}/mcp`, issuer: TEST_ISSUER, claims: scope ? { scope } : {} });

    const anonymous = await scrape(server);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.wwwAuthenticate, /^Bearer .*resource_metadata=/);
    const plain = await scrape(server, bearer(await token()));
    assert.equal(plain.status, 403);
    assert.match(plain.wwwAuthenticate, /error="insufficient_scope"/);
    assert.match(plain.wwwAuthenticate, /scope="metrics"/);
    assert.doesNotMatch(plain.body, /realtime_mcp/);
    assert.equal((await scrape(server, bearer(await token('metrics')))).status, 200);
    assert.equal((await scrape(server, bearer(await token('admin')))).status, 200);

    installWebSocketGlobal(bearer(await token()));
    const client = await connectSdkClient(server.wsUrl);
    installWebSocketGlobal({});
    t.after(() => client.close());
    await assert.rejects(client.callTool({ name: 'deploy', arguments: {} }), /Missing scope: deploy:write/);
    await client.callTool({ name: 'echo', arguments: { message: 'hi' } });
    const { samples } = await scrape(server, bearer(await token('metrics')));
    assert.equal(samples.get('realtime_mcp_tool_calls_total{tool="echo"}'), 1);
    assert.equal(samples.has('realtime_mcp_tool_calls_total{tool="deploy"}'), false);
    assert.equal(samples.get('realtime_mcp_sessions{transport="ws"}'), 1);
  });
});
