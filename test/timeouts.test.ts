// Timeouts: a tool's timeoutMs and the server default TOOL_TIMEOUT_MS end the call with JSON-RPC error
// -32001 whose data holds the last progress; the tool's signal aborts with reason kind `timeout`; time
// spent queued does not count. Partial failures keep data.lastSuccessful.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Type from 'typebox';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { defineTool } from '../src/tools/define.js';
import type { OperationAbort } from '../src/operations/operation.js';
import { startServer, type TestServer } from './helpers/server.js';
import { connectSdkClient } from './helpers/sdk-client.js';
import { waitUntil } from './helpers/wait.js';

const seen = { abortKind: '' as string, abortMessage: '' };

/** Reports 3 of 10 items, then waits for its signal (which only the timeout aborts). */
const stuckTool = defineTool({
  name: 'stuck',
  description: 'Reports some progress, then hangs until aborted',
  inputSchema: Type.Object({}),
  timeoutMs: 150,
  async handler(_args, ctx) {
    for (let i = 1; i <= 3; i++) ctx.progress({ progress: i, total: 10 });
    await new Promise<void>((_, reject) => {
      ctx.signal.addEventListener('abort', () => {
        const reason = ctx.signal.reason as OperationAbort;
        seen.abortKind = reason.kind;
        seen.abortMessage = reason.message;
        reject(reason);
      }, { once: true });
    });
    return 'unreachable';
  },
});

let openGate: (() => void) | undefined;
/** Holds the session's only slot until the test opens the gate. */
const gateTool = defineTool({
  name: 'gate',
  description: 'Waits until the test lets it finish',
  inputSchema: Type.Object({}),
  async handler() {
    await new Promise<void>((resolve) => (openGate = resolve));
    return 'gate opened';
  },
});

/** Returns at once; declares a short timeout. */
const quickTool = defineTool({
  name: 'quick',
  description: 'Returns at once',
  inputSchema: Type.Object({}),
  timeoutMs: 100,
  handler: () => 'quick done',
});

describe('timeouts', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ tools: [stuckTool, gateTool, quickTool], config: { MAX_CONCURRENT_PER_SESSION: 1 } });
  });
  after(() => server.close());

  test('a tool past its timeoutMs: error -32001 with timeoutMs, lastProgress and total; its signal aborts with kind timeout', async () => {
    const client = await connectSdkClient(server.wsUrl);
    try {
      const progress: number[] = [];
      await assert.rejects(
        client.callTool({ name: 'stuck', arguments: {} }, undefined, { onprogress: (p) => progress.push(p.progress) }),
        (err: unknown) => {
          assert.ok(err instanceof McpError);
          assert.equal(err.code, -32001);
          assert.match(err.message, /Tool stuck timed out after 150 ms/);
          assert.deepEqual(err.data, { timeoutMs: 150, lastProgress: 3, total: 10 });
          return true;
        },
      );
      assert.deepEqual(progress, [1, 2, 3]);
      assert.equal(seen.abortKind, 'timeout');
      assert.match(seen.abortMessage, /timed out after 150 ms/);
      assert.equal(server.app.mcp.runner.size, 0);
      // The session goes on.
      assert.deepEqual((await client.callTool({ name: 'echo', arguments: { message: 'after' } })).content, [{ type: 'text', text: 'after' }]);
    } finally {
      await client.close();
    }
  });

  test('time spent queued does not count toward the timeout', async () => {
    const client = await connectSdkClient(server.wsUrl);
    try {
      const gate = client.callTool({ name: 'gate', arguments: {} });
      // One slot per session: `quick` (timeout 100 ms) waits behind `gate` for three times its timeout.
      const quick = client.callTool({ name: 'quick', arguments: {} });
      await waitUntil(() => openGate !== undefined && server.app.mcp.runner.queued === 1, '`gate` running and `quick` queued behind it');
      assert.equal(server.app.mcp.runner.queued, 1);
      await new Promise((r) => setTimeout(r, 300));
      openGate!();
      assert.deepEqual((await gate).content, [{ type: 'text', text: 'gate opened' }]);
      assert.deepEqual((await quick).content, [{ type: 'text', text: 'quick done' }]);
    } finally {
      await client.close();
    }
  });

  test('a partial failure keeps data.lastSuccessful', async () => {
    const client = await connectSdkClient(server.wsUrl);
    try {
      await assert.rejects(client.callTool({ name: 'process_batch', arguments: { count: 10, failAt: 4 } }), (err: unknown) => {
        assert.ok(err instanceof McpError);
        assert.equal(err.code, -32000);
        assert.equal((err.data as { lastSuccessful: number }).lastSuccessful, 3);
        return true;
      });
    } finally {
      await client.close();
    }
  });
});

describe('the server default TOOL_TIMEOUT_MS', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ config: { TOOL_TIMEOUT_MS: 120 } });
  });
  after(() => server.close());

  test('applies to a tool that declares no timeoutMs', async () => {
    const client = await connectSdkClient(server.wsUrl);
    try {
      const progress: number[] = [];
      // 100 items of 50 ms: far longer than 120 ms.
      await assert.rejects(
        client.callTool({ name: 'process_batch', arguments: { count: 100, delayMs: 50 } }, undefined, { onprogress: (p) => progress.push(p.progress) }),
        (err: unknown) => {
          assert.ok(err instanceof McpError);
          assert.equal(err.code, -32001);
          const data = err.data as { timeoutMs: number; lastProgress: number | null; total: number | null };
          assert.equal(data.timeoutMs, 120);
          assert.equal(data.total, progress.length > 0 ? 100 : null);
          assert.equal(data.lastProgress, progress.length > 0 ? progress.at(-1) : null);
          return true;
        },
      );
      assert.equal(server.app.mcp.runner.size, 0);
    } finally {
      await client.close();
    }
  });

  test('a call that finishes in time is answered normally', async () => {
    const client = await connectSdkClient(server.wsUrl);
    try {
      const result = await client.callTool({ name: 'process_batch', arguments: { count: 5 } });
      assert.match((result.content as Array<{ text: string }>)[0]!.text, /Processed 5 items/);
    } finally {
      await client.close();
    }
  });
});
