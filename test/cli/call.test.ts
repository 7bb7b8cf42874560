// `realtime-mcp call` as a child process (no TTY) against a live server with JWT auth, on every
// transport: progress lines and the summary; Ctrl-C → notifications/cancelled → exit 130 with the
// server recording the call as cancelled; a TCP proxy that cuts the connection mid-call → the CLI
// resumes and ends with the full result (every progress value once, in order; one result); bad or
// missing token → exit 3 with a readable message.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { KINDS, exitOf, jsonLines, lastProgress, readOperations, runCli, startAuthServer, urlFor, waitFor, type AuthServer } from './cli-helpers.js';

describe('realtime-mcp call', () => {
  let server: AuthServer;
  let token: string;
  before(async () => {
    server = await startAuthServer();
    token = await server.token('alice');
  });
  after(() => server.close());

  for (const kind of KINDS) {
    describe(`over ${kind}`, () => {
      test('prints one progress line per update (rate and ETA once they mean something), then the summary; exit 0', async () => {
        const run = runCli(['call', 'process_batch', '{"count":30,"delayMs":60}', '--url', urlFor(kind, server.port)], { REALTIME_MCP_TOKEN: token });
        assert.equal(await exitOf(run), 0, run.stderr);
        const lines = run.stderr.split('\n').filter((l) => l.startsWith('progress '));
        assert.equal(lines.length, 30, run.stderr);
        // No estimate in the first second (the window is too short to mean anything), then one.
        assert.match(lines[0]!, /^progress 1\/30 3%$/);
        assert.match(lines[24]!, /^progress 25\/30 83% · [\d.]+\/s · ETA \d+ s/);
        assert.match(lines[29]!, /^progress 30\/30 100%/);
        assert.match(run.stdout, /^Processed 30 items in [\d.]+ s\n$/);
      });

      test('Ctrl-C sends notifications/cancelled: exit 130 after the server recorded the call as cancelled', async () => {
        const run = runCli(['call', 'process_batch', '{"count":2000,"delayMs":5}', '--url', urlFor(kind, server.port), '--json'], { REALTIME_MCP_TOKEN: token });
        await waitFor(() => lastProgress(run.stdout) >= 5, 'the first progress lines');
        run.child.kill('SIGINT');
        assert.equal(await exitOf(run), 130, run.stderr);
        const lines = jsonLines(run.stdout);
        const cancelled = lines.at(-1)!;
        assert.equal(cancelled.type, 'cancelled', run.stdout.slice(-500));
        // What the CLI printed is what the server reported: the call stopped, cancelled by us.
        assert.equal(cancelled.server?.state, 'cancelled');
        assert.equal(cancelled.server?.reason, 'cancelled by the user (Ctrl-C)');
        assert.ok(cancelled.server.progress < 2000);
        assert.equal(lines.filter((l) => l.type === 'result').length, 0);
        // And independently, through the server.
        const ops = await readOperations(server, token);
        const op = ops.find((o) => o.transport === kind && o.requestId === cancelled.requestId && o.tool === 'process_batch' && o.reason === 'cancelled by the user (Ctrl-C)');
        assert.ok(op, JSON.stringify(ops));
        assert.equal(op.state, 'cancelled');
      });

      test('a connection cut mid-call is resumed: every progress value once, in order, and exactly one result', async (t) => {
        const proxy: TcpProxy = await startTcpProxy(server.port);
        t.after(() => proxy.close());
        const count = 100;
        const run = runCli(['call', 'process_batch', JSON.stringify({ count, delayMs: 10 }), '--url', urlFor(kind, proxy.port), '--json'], { REALTIME_MCP_TOKEN: token });
        await waitFor(() => lastProgress(run.stdout) >= 20, 'progress 20');
        const cut = proxy.cut();
        assert.ok(cut >= 1, 'a connection was cut');
        assert.equal(await exitOf(run), 0, run.stderr);
        const lines = jsonLines(run.stdout);
        const progress = lines.filter((l) => l.type === 'progress').map((l) => l.progress as number);
        assert.deepEqual(progress, Array.from({ length: count }, (_, i) => i + 1));
        const results = lines.filter((l) => l.type === 'result');
        assert.equal(results.length, 1);
        assert.match(results[0]!.content[0].text, new RegExp(`^Processed ${count} items`));
        assert.equal(lines.at(-1)!.type, 'result', 'the result is the last line');
        assert.ok(lines.some((l) => l.type === 'connection' && l.event === 'resumed'), 'the CLI reported the resume');
        assert.ok(proxy.accepted > cut, 'the CLI reconnected through the proxy');
      });

      test('a burst of 3000 progress notifications: every one is printed before the result', async () => {
        const run = runCli(['call', 'process_batch', '{"count":3000}', '--url', urlFor(kind, server.port), '--json'], { REALTIME_MCP_TOKEN: token });
        assert.equal(await exitOf(run), 0, run.stderr);
        const lines = jsonLines(run.stdout);
        assert.equal(lines.filter((l) => l.type === 'progress').length, 3000);
        assert.equal(lines.at(-1)!.type, 'result');
      });

      test('a bad token exits 3 and says why', async () => {
        const run = runCli(['call', 'echo', '{"message":"hi"}', '--url', urlFor(kind, server.port)], { REALTIME_MCP_TOKEN: `${token.slice(0, -4)}AAAA` });
        assert.equal(await exitOf(run), 3);
        assert.match(run.stderr, /authentication failed \(401\): the server refused the token/);
        assert.equal(run.stdout, '');
      });
    });
  }

  test('no token: exit 3 naming REALTIME_MCP_TOKEN and the token command', async () => {
    const run = runCli(['call', 'echo', '{"message":"hi"}', '--url', urlFor('streamable', server.port)]);
    assert.equal(await exitOf(run), 3);
    assert.match(run.stderr, /authentication required \(401\).*REALTIME_MCP_TOKEN.*realtime-mcp token/s);
  });

  test('a token for another audience: exit 3 with the server\'s reason', async () => {
    const { hsToken } = await import('../helpers/tokens.js');
    const wrong = await hsToken(server.secret, { audience: 'https://elsewhere.example/mcp' });
    const run = runCli(['call', 'echo', '{"message":"hi"}', '--url', urlFor('ws', server.port), '--token', wrong]);
    assert.equal(await exitOf(run), 3);
    assert.match(run.stderr, /401.*audience/);
  });

  test('a tool error exits 1 with the JSON-RPC error; an isError-free echo exits 0', async () => {
    const failing = runCli(['call', 'process_batch', '{"count":5,"failAt":3}', '--url', urlFor('ws', server.port)], { REALTIME_MCP_TOKEN: token });
    assert.equal(await exitOf(failing), 1);
    assert.match(failing.stderr, /error -32000: Item 3 of 5 failed \{"lastSuccessful":2/);
    const unknown = runCli(['call', 'no_such_tool', '--url', urlFor('ws', server.port)], { REALTIME_MCP_TOKEN: token });
    assert.equal(await exitOf(unknown), 1);
    assert.match(unknown.stderr, /Unknown tool/);
    const echo = runCli(['call', 'echo', '{"message":"hello there"}', '--url', urlFor('sse', server.port)], { REALTIME_MCP_TOKEN: token });
    assert.equal(await exitOf(echo), 0);
    assert.equal(echo.stdout, 'hello there\n');
  });

  test('usage errors exit 2', async () => {
    const badJson = runCli(['call', 'echo', '{nope']);
    assert.equal(await exitOf(badJson), 2);
    assert.match(badJson.stderr, /not valid JSON/);
    const noTool = runCli(['call']);
    assert.equal(await exitOf(noTool), 2);
    const badTransport = runCli(['call', 'echo', '--transport', 'carrier-pigeon']);
    assert.equal(await exitOf(badTransport), 2);
  });
});
