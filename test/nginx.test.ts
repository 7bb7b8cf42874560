// The end-to-end behaviour suite (WebSocket, legacy SSE, Streamable HTTP) a second time, through a real
// nginx on loopback running the shipped deploy/nginx.conf — only its `listen` and upstream `server`
// lines are rewritten for the test ports. Without nginx the suite is skipped with a message, except
// under CI (CI set), where that is a failure: .ci/run installs nginx.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type TestServer } from './helpers/server.js';
import { defineTransportSuite, watchAbortTool } from './helpers/transport-suite.js';
import { openSse } from './helpers/sse-client.js';
import { waitUntil } from './helpers/wait.js';
import { freePort } from './helpers/free-port.js';

const nginxMissing = spawnSync('nginx', ['-v']).error !== undefined;

if (nginxMissing) {
  if (process.env.CI) {
    test('nginx is installed (required under CI)', () => {
      assert.fail('nginx is not installed: .ci/run installs it with apt-get install -y nginx');
    });
  } else {
    test('end-to-end through nginx', { skip: 'nginx is not installed (apt-get install -y nginx); skipping the run through the reverse proxy' }, () => {});
  }
} else {
  let server: TestServer;
  let nginx: ChildProcess;
  let prefix: string;
  let base: string;
  let nginxLog = '';

  before(async () => {
    server = await startServer({ tools: [watchAbortTool], config: { SSE_KEEPALIVE_MS: 50 } });
    const port = await freePort();
    prefix = mkdtempSync(join(tmpdir(), 'realtime-mcp-nginx-'));
    for (const dir of ['logs', 'tmp']) mkdirSync(join(prefix, dir));
    // Workers run as an unprivileged user when the master is root.
    chmodSync(join(prefix, 'tmp'), 0o777);
    const conf = renderConfig(readFileSync(new URL('../deploy/nginx.conf', import.meta.url), 'utf8'), port, server.port);
    const confPath = join(prefix, 'nginx.conf');
    writeFileSync(confPath, conf);
    nginx = spawn('nginx', ['-p', prefix, '-c', confPath, '-e', join(prefix, 'logs', 'error.log'), '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
    nginx.stderr!.setEncoding('utf8').on('data', (d: string) => (nginxLog += d));
    base = `127.0.0.1:${port}`;
    await waitForHealth(`http://${base}/healthz`, () => nginxLog);
  });

  after(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((r) => nginx.once('exit', r));
      nginx.kill('SIGTERM');
      await exited;
    }
    await server?.close();
    if (prefix) rmSync(prefix, { recursive: true, force: true });
  });

  test('nginx passes SSE through unbuffered: headers, the endpoint event and keepalives arrive', async () => {
    const stream = await openSse(`http://${base}/mcp/sse`, { headers: { accept: 'text/event-stream' } });
    try {
      assert.equal(stream.status, 200);
      assert.equal(stream.headers['content-type'], 'text/event-stream');
      assert.equal(stream.headers['cache-control'], 'no-cache, no-transform');
      await stream.waitFor((e) => e.event === 'endpoint');
      await stream.until(() => stream.comments.filter((c) => c === 'keepalive').length >= 2);
    } finally {
      stream.destroy();
    }
  });

  defineTransportSuite('through nginx', () => ({
    ws: `ws://${base}/mcp/ws`,
    sse: `http://${base}/mcp/sse`,
    streamable: `http://${base}/mcp`,
  }));
}

/** The shipped config with our ports; fails loudly if the lines it rewrites are gone. */
function renderConfig(conf: string, listenPort: number, upstreamPort: number): string {
  const listen = /^(\s*)listen 80;$/m;
  const upstream = /^(\s*)server 127\.0\.0\.1:8080;$/m;
  assert.match(conf, listen, 'deploy/nginx.conf: `listen 80;` line not found');
  assert.match(conf, upstream, 'deploy/nginx.conf: upstream `server 127.0.0.1:8080;` line not found');
  return conf.replace(listen, `$1listen 127.0.0.1:${listenPort};`).replace(upstream, `$1server 127.0.0.1:${upstreamPort};`);
}

async function waitForHealth(url: string, log: () => string): Promise<void> {
  // A refused connection means nginx is not listening yet.
  const healthy = async () => (await fetch(url).catch(() => undefined))?.status === 200;
  await waitUntil(healthy, `nginx to come up at ${url}`, 10_000).catch((err: Error) => {
    throw new Error(`${err.message}: ${log()}`);
  });
}
