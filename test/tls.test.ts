// TLS served by the standalone app itself (TLS_CERT_FILE + TLS_KEY_FILE): https GET /healthz, the SDK
// client over wss:// and over Streamable HTTP and legacy SSE on https://, the URLs the server announces
// (https), and bad settings: a certificate without its key (or the reverse) and a pair that does not
// match are ConfigErrors naming both settings. The certificate is made at test time with openssl.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket as WsWebSocket } from 'ws';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { WebSocketClientTransport } from '@modelcontextprotocol/sdk/client/websocket.js';
import { loadConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { startServer, type TestServer } from './helpers/server.js';
import { hsToken, randomSecret } from './helpers/tokens.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

let dir: string;
const files = { cert: '', key: '', otherKey: '' };

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
}

/** GET over https, trusting `ca` (undefined = the system store). */
function httpsGet(url: string, ca: Buffer | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Runs the SDK client over Streamable HTTP and legacy SSE in a process that trusts the test CA (NODE_EXTRA_CA_CERTS), as a user would. */
function sdkOverHttpsInChild(baseUrl: string): Promise<any> {
  const script = `
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
const out = {};
for (const [name, transport] of [['streamable', new StreamableHTTPClientTransport(new URL('${baseUrl}/mcp'))], ['sse', new SSEClientTransport(new URL('${baseUrl}/mcp/sse'))]]) {
  const client = new Client({ name: 'tls-child', version: '0' });
  await client.connect(transport);
  const tools = (await client.listTools()).tools.map((t) => t.name);
  const progress = [];
  const result = await client.callTool({ name: 'process_batch', arguments: { count: 3, delayMs: 5 } }, undefined, { onprogress: (p) => progress.push(p.progress) });
  const echo = await client.callTool({ name: 'echo', arguments: { message: 'over tls' } });
  out[name] = { tools, progress, result: result.content[0].text, echo: echo.content[0].text };
  await client.close();
}
process.stdout.write('RESULT ' + JSON.stringify(out) + '\\n');
process.exit(0);
`;
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_EXTRA_CA_CERTS: files.cert };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_TLS_REJECT_UNAUTHORIZED;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('close', (code) => {
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || line === undefined) return reject(new Error(`child exited ${code}: ${stderr.slice(-1500)}`));
      resolve(JSON.parse(line.slice('RESULT '.length)));
    });
  });
}

describe('TLS (TLS_CERT_FILE / TLS_KEY_FILE)', { skip: hasOpenssl ? false : 'openssl is not installed' }, () => {
  let server: TestServer;
  let httpsUrl: string;
  let wssUrl: string;
  let ca: Buffer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'realtime-mcp-tls-'));
    files.cert = join(dir, 'cert.pem');
    files.key = join(dir, 'key.pem');
    files.otherKey = join(dir, 'other-key.pem');
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', files.key, '-out', files.cert,
      '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost']);
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', files.otherKey]);
    ca = readFileSync(files.cert);
    server = await startServer({ config: { TLS_CERT_FILE: files.cert, TLS_KEY_FILE: files.key } });
    httpsUrl = `https://127.0.0.1:${server.port}`;
    wssUrl = `wss://127.0.0.1:${server.port}/mcp/ws`;
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('https GET /healthz with the certificate as CA; refused without it; plain http gets no answer', async () => {
    assert.deepEqual(await httpsGet(`${httpsUrl}/healthz`, ca), { status: 200, body: '{"status":"ok"}' });
    await assert.rejects(httpsGet(`${httpsUrl}/healthz`, undefined), /self[- ]signed/i);
    await assert.rejects(fetch(`http://127.0.0.1:${server.port}/healthz`));
  });

  test('the SDK client over wss:// lists tools and calls one', async () => {
    (globalThis as { WebSocket?: unknown }).WebSocket = class extends WsWebSocket {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols, { ca });
      }
    };
    const client = new Client({ name: 'tls-test', version: '0' });
    await client.connect(new WebSocketClientTransport(new URL(wssUrl)));
    try {
      const tools = (await client.listTools()).tools.map((t) => t.name);
      assert.ok(tools.includes('echo') && tools.includes('process_batch'), tools.join(','));
      const progress: number[] = [];
      const result = await client.callTool({ name: 'process_batch', arguments: { count: 3, delayMs: 5 } }, undefined, { onprogress: (p) => progress.push(p.progress) });
      assert.deepEqual(progress, [1, 2, 3]);
      assert.match((result.content as Array<{ text: string }>)[0]!.text, /3/);
    } finally {
      await client.close();
    }
  });

  test('a raw ws client with rejectUnauthorized: false gets the 101 with Mcp-Session-Id', async () => {
    const ws = new WsWebSocket(wssUrl, ['mcp'], { rejectUnauthorized: false });
    let upgrade: import('node:http').IncomingMessage | undefined;
    ws.once('upgrade', (res) => (upgrade = res));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    assert.equal(ws.protocol, 'mcp');
    assert.match(String(upgrade?.headers['mcp-session-id']), /\S+/);
    ws.close();
  });

  test('Streamable HTTP and legacy SSE over https (SDK client in a process trusting the CA)', async () => {
    const out = await sdkOverHttpsInChild(httpsUrl);
    for (const name of ['streamable', 'sse']) {
      assert.ok(out[name].tools.includes('echo'), name);
      assert.deepEqual(out[name].progress, [1, 2, 3], name);
      assert.match(out[name].result, /3/, name);
      assert.equal(out[name].echo, 'over tls', name);
    }
  });

  test('with JWT auth the challenge and the metadata name https:// URLs', async () => {
    const secret = randomSecret();
    const jwtServer = await startServer({ config: { TLS_CERT_FILE: files.cert, TLS_KEY_FILE: files.key, AUTH_MODE: 'jwt', JWT_SECRET: secret } });
    try {
      const base = `https://127.0.0.1:${jwtServer.port}`;
      const refused = await new Promise<{ status: number; challenge: string }>((resolve, reject) => {
        const req = httpsRequest(`${base}/mcp`, { ca, agent: false, method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, challenge: String(res.headers['www-authenticate']) });
        });
        req.on('error', reject);
        req.end('{}');
      });
      assert.equal(refused.status, 401);
      assert.match(refused.challenge, new RegExp(`resource_metadata="${base}/\\.well-known/oauth-protected-resource/mcp"`));
      const metadata = JSON.parse((await httpsGet(`${base}/.well-known/oauth-protected-resource/mcp`, ca)).body);
      assert.equal(metadata.resource, `${base}/mcp`);
      // A token for the https resource is accepted.
      const token = await hsToken(secret, { audience: `${base}/mcp` });
      const ok = await new Promise<number>((resolve, reject) => {
        const req = httpsRequest(`${base}/mcp`, { ca, agent: false, method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', Authorization: `Bearer ${token}` } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'tls', version: '0' } } }));
      });
      assert.equal(ok, 200);
    } finally {
      await jwtServer.close();
    }
  });

  test('app.close() is not held by unused connections (a bare TCP one, a finished TLS handshake)', async () => {
    const other = await startServer({ config: { TLS_CERT_FILE: files.cert, TLS_KEY_FILE: files.key } });
    const bare = netConnect(other.port, '127.0.0.1');
    bare.on('error', () => {});
    await new Promise((resolve) => bare.once('connect', resolve));
    const handshaken = tlsConnect({ port: other.port, host: '127.0.0.1', ca, servername: 'localhost' });
    handshaken.on('error', () => {});
    await new Promise((resolve) => handshaken.once('secureConnect', resolve));
    const started = performance.now();
    const closed = await Promise.race([other.close().then(() => true), sleep(5_000, false, { ref: false })]);
    bare.destroy();
    handshaken.destroy();
    assert.ok(closed, 'app.close() still waiting after 5 s');
    assert.ok(performance.now() - started < 2_000, `app.close() took ${Math.round(performance.now() - started)} ms`);
  });

  test('a certificate without its key (or a key without its certificate) is a ConfigError naming both', () => {
    for (const overrides of [{ TLS_CERT_FILE: files.cert }, { TLS_KEY_FILE: files.key }]) {
      assert.throws(() => loadConfig({}, overrides), (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.match(err.message, /TLS_CERT_FILE/);
        assert.match(err.message, /TLS_KEY_FILE/);
        return true;
      });
    }
    // The same from the environment, as `npm start` reads it.
    assert.throws(() => loadConfig({ TLS_CERT_FILE: files.cert }), (err: unknown) => err instanceof ConfigError && /TLS_CERT_FILE/.test(err.message) && /TLS_KEY_FILE/.test(err.message));
  });

  test('a certificate and a key that do not match are a ConfigError naming both', async () => {
    await assert.rejects(startServer({ config: { TLS_CERT_FILE: files.cert, TLS_KEY_FILE: files.otherKey } }), (err: unknown) => {
      assert.ok(err instanceof ConfigError, `${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
      assert.match(err.message, /TLS_CERT_FILE/);
      assert.match(err.message, /TLS_KEY_FILE/);
      return true;
    });
    // Not PEM at all.
    await assert.rejects(startServer({ config: { TLS_CERT_FILE: files.key, TLS_KEY_FILE: files.key } }), (err: unknown) => err instanceof ConfigError && /TLS_CERT_FILE/.test(err.message));
  });
});
