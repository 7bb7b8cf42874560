// The other commands: `token` mints what the server verifies (JWT_SECRET and the audience from the
// environment or .env); `tools` lists tools with their arguments; `watch` prints a resource on every
// update; `--help`, the `serve` slot and usage errors. Plus the bridge's fresh session when the old
// one cannot be resumed.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { startServer } from '../helpers/server.js';
import { randomSecret } from '../helpers/tokens.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { CLEAN_CWD, CLI_ARGS, exitOf, jsonLines, readOperations, runCli, startAuthServer, urlFor, waitFor, type AuthServer, type CliRun } from './cli-helpers.js';

/** runCli in a given working directory (for .env). */
function runIn(cwd: string, args: string[], env: Record<string, string> = {}): CliRun {
  const child = spawn(process.execPath, [...CLI_ARGS, ...args], { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const run: CliRun = { child, stdout: '', stderr: '', code: undefined, exited: new Promise((resolve) => child.on('close', (code) => resolve((run.code = code ?? 1)))) };
  child.stdout.setEncoding('utf8').on('data', (d: string) => (run.stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (run.stderr += d));
  return run;
}

describe('realtime-mcp token', () => {
  let server: AuthServer;
  before(async () => {
    server = await startAuthServer();
  });
  after(() => server.close());

  test('mints a token the server accepts, from JWT_SECRET, HOST and PORT in the environment', async () => {
    const minted = runCli(['token', '--sub', 'bob', '--scope', 'tools:call admin', '--ttl', '10m', '--json'], { JWT_SECRET: server.secret, HOST: '127.0.0.1', PORT: String(server.port) });
    assert.equal(await exitOf(minted), 0, minted.stderr);
    const { token, claims } = JSON.parse(minted.stdout) as { token: string; claims: Record<string, unknown> };
    assert.equal(claims.sub, 'bob');
    assert.equal(claims.aud, server.audience);
    assert.equal(claims.scope, 'tools:call admin');
    assert.equal((claims.exp as number) - (claims.iat as number), 600);
    const call = runCli(['call', 'echo', '{"message":"minted"}', '--url', urlFor('ws', server.port), '--token', token]);
    assert.equal(await exitOf(call), 0, call.stderr);
    assert.equal(call.stdout, 'minted\n');
  });

  test('reads .env of the working directory; prints the bare token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'realtime-mcp-env-'));
    writeFileSync(join(dir, '.env'), `JWT_SECRET=${server.secret}\nPORT=${server.port}\n`);
    const minted = runIn(dir, ['token', '--sub', 'carol']);
    assert.equal(await exitOf(minted), 0, minted.stderr);
    assert.match(minted.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const call = runCli(['call', 'echo', '{"message":"from .env"}', '--url', urlFor('streamable', server.port)], { REALTIME_MCP_TOKEN: minted.stdout.trim() });
    assert.equal(await exitOf(call), 0, call.stderr);
  });

  test('JWT_ISSUER and RESOURCE_URL are honoured as the server honours them', async (t) => {
    const secret = randomSecret();
    const other = await startServer({ config: { AUTH_MODE: 'jwt', JWT_SECRET: secret, JWT_ISSUER: 'https://issuer.test', RESOURCE_URL: 'https://mcp.example.com/mcp/' } });
    t.after(() => other.close());
    const minted = runCli(['token', '--sub', 'dave'], { JWT_SECRET: secret, JWT_ISSUER: 'https://issuer.test', RESOURCE_URL: 'https://mcp.example.com/mcp/' });
    assert.equal(await exitOf(minted), 0, minted.stderr);
    const call = runCli(['call', 'echo', '{"message":"iss"}', '--url', urlFor('sse', other.port)], { REALTIME_MCP_TOKEN: minted.stdout.trim() });
    assert.equal(await exitOf(call), 0, call.stderr);
  });

  test('no JWT_SECRET: exit 2 saying how to set it', async () => {
    const run = runCli(['token', '--sub', 'x']);
    assert.equal(await exitOf(run), 2);
    assert.match(run.stderr, /JWT_SECRET is not set: set it in the environment or in \.env/);
    const jwks = runCli(['token', '--sub', 'x'], { JWKS_URL: 'https://auth.example.com/jwks.json' });
    assert.equal(await exitOf(jwks), 2);
    assert.match(jwks.stderr, /JWKS_URL.*authorization server/);
    const short = runCli(['token', '--sub', 'x'], { JWT_SECRET: 'too-short' });
    assert.equal(await exitOf(short), 2);
    assert.match(short.stderr, /at least 32/);
    const noSub = runCli(['token'], { JWT_SECRET: server.secret });
    assert.equal(await exitOf(noSub), 2);
    assert.match(noSub.stderr, /--sub/);
  });
});

describe('realtime-mcp tools, watch, help', () => {
  let server: AuthServer;
  let token: string;
  before(async () => {
    server = await startAuthServer();
    token = await server.token('alice', 'admin');
  });
  after(() => server.close());

  test('tools lists every tool with its arguments; --json gives the schemas', async () => {
    const run = runCli(['tools', '--url', urlFor('streamable', server.port)], { REALTIME_MCP_TOKEN: token });
    assert.equal(await exitOf(run), 0, run.stderr);
    assert.match(run.stdout, /^process_batch {2}\(Process a batch\)$/m);
    assert.match(run.stdout, /^ {4}count: integer, required, 0\.\.10000000 — Items to process$/m);
    assert.match(run.stdout, /^ {4}format: "webp" \| "jpeg" \| "png", optional, default "webp"/m);
    const json = runCli(['tools', '--url', urlFor('ws', server.port), '--json'], { REALTIME_MCP_TOKEN: token });
    assert.equal(await exitOf(json), 0, json.stderr);
    const { tools } = JSON.parse(json.stdout) as { tools: Array<{ name: string; inputSchema: { required?: string[] } }> };
    assert.deepEqual(tools.find((t) => t.name === 'process_batch')?.inputSchema.required, ['count']);
  });

  test('watch prints the resource, then again after each update', async () => {
    const run = runCli(['watch', 'realtime://server/stats', '--url', urlFor('ws', server.port), '--json', '--count', '2'], { REALTIME_MCP_TOKEN: token });
    await waitFor(() => run.stdout.includes('"type":"resource"'), 'the first read');
    // Another session opens and closes: the stats change, the server says so, watch reads again.
    const other = runCli(['tools', '--url', urlFor('sse', server.port)], { REALTIME_MCP_TOKEN: token });
    assert.equal(await exitOf(other), 0);
    assert.equal(await exitOf(run), 0, run.stderr);
    const updates = jsonLines(run.stdout).filter((l) => l.type === 'resource');
    assert.equal(updates.length, 2);
    const stats = JSON.parse(updates[0]!.contents[0].text) as { sessions: { total: number } };
    assert.ok(stats.sessions.total >= 1);
  });

  test('watch stops on Ctrl-C with exit 0', async () => {
    const run = runCli(['watch', 'realtime://operations', '--url', urlFor('streamable', server.port)], { REALTIME_MCP_TOKEN: token });
    await waitFor(() => run.stdout.includes('realtime://operations'), 'the first read');
    assert.match(run.stdout, /── \S+ realtime:\/\/operations\n\{\n {2}"scope": "all"/);
    run.child.kill('SIGINT');
    assert.equal(await exitOf(run), 0, run.stderr);
  });

  test('--help lists the commands (serve included); each command has --help; serve from source needs --stdio', async () => {
    // Independent processes: run them side by side.
    const names = ['call', 'tools', 'watch', 'connect', 'token'];
    const [help, serve, unknown, badOption, secretInUrl, ...subs] = [
      runCli(['--help']),
      runCli(['serve']),
      runCli(['frobnicate']),
      runCli(['tools', '--colour']),
      runCli(['tools', '--url', 'http://127.0.0.1:1/mcp?token=abc']),
      ...names.map((name) => runCli([name, '--help'])),
    ];
    assert.equal(await exitOf(help!), 0);
    for (const name of [...names, 'serve']) assert.match(help!.stdout, new RegExp(`^ {2}${name} `, 'm'));
    for (const [i, name] of names.entries()) {
      assert.equal(await exitOf(subs[i]!), 0, name);
      assert.match(subs[i]!.stdout, new RegExp(`^Usage: realtime-mcp ${name}`), name);
    }
    // From source (no bin) there is no HTTP server hook: serve says how to run it (serve --stdio: test/stdio.test.ts).
    assert.equal(await exitOf(serve!), 2);
    assert.match(serve!.stderr, /serve without --stdio needs the built package/);
    assert.equal(await exitOf(unknown!), 2);
    assert.match(unknown!.stderr, /unknown command "frobnicate"/);
    assert.equal(await exitOf(badOption!), 2);
    assert.equal(await exitOf(secretInUrl!), 2);
    assert.match(secretInUrl!.stderr, /no credentials in the URL/);
  });

  test('an unreachable server: exit 3 naming the URL and the reason', async () => {
    const proxy = await startTcpProxy(server.port);
    const port = proxy.port;
    await proxy.close(); // nothing listens there any more
    const run = runCli(['tools', '--url', urlFor('ws', port)], { REALTIME_MCP_TOKEN: token });
    assert.equal(await exitOf(run), 3);
    assert.match(run.stderr, new RegExp(`cannot connect to ws://127\\.0\\.0\\.1:${port}/mcp/ws: .*ECONNREFUSED`));
  });
});

describe('realtime-mcp connect when the session cannot be resumed', () => {
  test('the bridge opens a fresh session: the lost call gets an error, the host is told, later calls work', async (t) => {
    const server = await startAuthServer({ RESUME_WINDOW_MS: 300 });
    t.after(() => server.close());
    const token = await server.token();
    const proxy = await startTcpProxy(server.port);
    t.after(() => proxy.close());
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [...CLI_ARGS, 'connect', urlFor('ws', proxy.port)],
      env: { REALTIME_MCP_TOKEN: token },
      cwd: CLEAN_CWD,
      stderr: 'pipe',
    });
    const client = new Client({ name: 'host', version: '1.0.0' });
    const warnings: string[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void warnings.push(String(n.params.data)));
    await client.connect(transport);
    t.after(() => client.close());

    let progressed = 0;
    const call = client.callTool({ name: 'process_batch', arguments: { count: 10_000, delayMs: 10 } }, undefined, { onprogress: (p) => (progressed = p.progress) });
    await waitFor(() => progressed >= 3, 'progress');
    proxy.refusing = true;
    proxy.cut();
    // The server gives up on the session after its resume window and aborts the call.
    let ops = await readOperations(server, token);
    for (let i = 0; i < 200 && !ops.some((o) => o.total === 10_000 && o.state === 'cancelled'); i++) {
      await new Promise((r) => setTimeout(r, 25));
      ops = await readOperations(server, token);
    }
    assert.match(ops.find((o) => o.total === 10_000)?.reason ?? '', /resume window/);
    proxy.refusing = false;

    await assert.rejects(call, /could not be resumed/);
    await waitFor(() => warnings.some((w) => /new session/.test(w)), 'the warning to the host');
    const echo = await client.callTool({ name: 'echo', arguments: { message: 'fresh session' } });
    assert.equal((echo.content as Array<{ text: string }>)[0]!.text, 'fresh session');
  });
});
