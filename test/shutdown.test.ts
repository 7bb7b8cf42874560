// Graceful shutdown of the real standalone server (a child process) on SIGTERM/SIGINT: the warning
// notice, results of calls that fit in the grace window, -32010 for those that do not, /readyz 503
// meanwhile, WebSocket close 1001, exit code 0.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startChildServer, stopChild } from './helpers/child-server.js';
import { openRaw, type RawClient } from './helpers/raw-ws.js';
import { curlStatus } from './helpers/curl.js';
import { within } from './helpers/wait.js';

const isShutdownWarning = (m: any) =>
  m.method === 'notifications/message' && m.params?.level === 'warning' && /shutting down/i.test(String(m.params?.data));

/** Start process_batch with a progress token and resolve once its first progress arrived. */
async function startBatch(c: RawClient, args: { count: number; delayMs: number }): Promise<void> {
  c.send({ jsonrpc: '2.0', id: 'work', method: 'tools/call', params: { name: 'process_batch', arguments: args, _meta: { progressToken: 'tok' } } });
  await c.waitFor((m) => m.method === 'notifications/progress' && m.params.progressToken === 'tok');
}

/** How long a shutdown step (the close, the exit) may take before the test fails instead of hanging. */
const STEP_MS = 15_000;

// Each test signals its own child server: they run side by side (each spawn costs seconds of startup).
describe('graceful shutdown of the standalone server', { concurrency: true }, () => {
  test('SIGTERM: warning, the call finishes within the grace window, /readyz 503, close 1001, exit 0', async (t) => {
    // ~2 s of work in an 8 s grace window: room for the curl probes below even on a busy machine.
    const server = await startChildServer({ SHUTDOWN_GRACE_MS: '8000' });
    t.after(() => stopChild(server));
    assert.equal(await curlStatus(`${server.httpUrl}/readyz`), 200);
    const c = await openRaw(server.wsUrl);
    t.after(() => c.ws.terminate());
    await c.initialize();
    await startBatch(c, { count: 100, delayMs: 20 });

    server.child.kill('SIGTERM');
    await c.waitFor(isShutdownWarning);
    // The server is now in its grace window, with the call still running.
    const readyDuringGrace = await curlStatus(`${server.httpUrl}/readyz`);
    const healthDuringGrace = await curlStatus(`${server.httpUrl}/healthz`);
    // This client keeps its refused connection open (ws leaves that to an 'unexpected-response'
    // listener); the server must not wait for it to exit.
    const refused = await openRaw(server.wsUrl).then(
      (late) => {
        late.ws.terminate();
        return 'accepted';
      },
      (err: { statusCode?: number }) => err.statusCode,
    );

    const result = await c.waitFor((m) => m.id === 'work');
    const { code } = await within(c.closed, 'the 1001 close', STEP_MS);
    const exit = await within(server.exited, 'the process to exit', STEP_MS);

    assert.equal(readyDuringGrace, 503);
    assert.equal(healthDuringGrace, 503, 'every new request answers 503 while shutting down');
    assert.equal(refused, 503, 'a new WebSocket during the grace window is refused with 503');
    assert.equal(result.error, undefined, JSON.stringify(result.error));
    assert.match(result.result.content[0].text, /Processed 100 items/);
    const progress = c.received.filter((m) => m.method === 'notifications/progress').map((m) => m.params.progress);
    assert.deepEqual(progress, Array.from({ length: 100 }, (_, i) => i + 1), 'every progress value, in order');
    const order = c.received.map((m) => (isShutdownWarning(m) ? 'warning' : m.id === 'work' ? 'result' : undefined)).filter(Boolean);
    assert.deepEqual(order, ['warning', 'result']);
    assert.equal(code, 1001);
    assert.deepEqual(exit, { code: 0, signal: null });
  });

  test('a call that does not fit in the grace window gets -32010 before the 1001 close; exit 0', async (t) => {
    const server = await startChildServer({ SHUTDOWN_GRACE_MS: '300' });
    t.after(() => stopChild(server));
    const c = await openRaw(server.wsUrl);
    t.after(() => c.ws.terminate());
    await c.initialize();
    await startBatch(c, { count: 1_000_000, delayMs: 20 });

    server.child.kill('SIGTERM');
    await c.waitFor(isShutdownWarning);
    const answer = await c.waitFor((m) => m.id === 'work');
    const { code } = await within(c.closed, 'the 1001 close', STEP_MS);
    const exit = await within(server.exited, 'the process to exit', STEP_MS);

    assert.equal(answer.result, undefined);
    assert.equal(answer.error.code, -32010);
    assert.match(answer.error.message, /shutting down/i);
    assert.equal(c.received.filter((m) => m.id === 'work').length, 1, 'exactly one answer for the call');
    assert.equal(code, 1001);
    assert.deepEqual(exit, { code: 0, signal: null });
  });

  test('SIGINT shuts down the same way (idle session: warning, 1001, exit 0)', async (t) => {
    const server = await startChildServer({ SHUTDOWN_GRACE_MS: '3000' });
    t.after(() => stopChild(server));
    const c = await openRaw(server.wsUrl);
    t.after(() => c.ws.terminate());
    await c.initialize();

    server.child.kill('SIGINT');
    await c.waitFor(isShutdownWarning);
    const { code } = await within(c.closed, 'the 1001 close', STEP_MS);
    assert.equal(code, 1001);
    assert.deepEqual(await within(server.exited, 'the process to exit', STEP_MS), { code: 0, signal: null });
  });

  test('a second signal during the grace window exits at once with code 1', async (t) => {
    const server = await startChildServer({ SHUTDOWN_GRACE_MS: '600000' });
    t.after(() => stopChild(server));
    const c = await openRaw(server.wsUrl);
    t.after(() => c.ws.terminate());
    await c.initialize();
    await startBatch(c, { count: 1_000_000, delayMs: 20 });

    server.child.kill('SIGTERM');
    await c.waitFor(isShutdownWarning);
    server.child.kill('SIGTERM');
    assert.deepEqual(await within(server.exited, 'the process to exit', STEP_MS), { code: 1, signal: null });
    assert.ok(!c.received.some((m) => m.id === 'work'), 'the call did not get to finish');
  });
});
