// The end-to-end behaviour every transport must share, with the MCP SDK's own Client and its own
// client transports (WebSocketClientTransport, SSEClientTransport, StreamableHTTPClientTransport):
// list tools, echo, progress in order before the result, cancellation reaching the tool, two clients
// isolated, argument and tool errors. Run directly (test/sdk-transports.test.ts) and through nginx
// (test/nginx.test.ts). The server must have `watchAbortTool` registered.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import Type from 'typebox';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { defineTool } from '../../src/tools/define.js';
import { connectSdkClient, type TransportName } from './sdk-client.js';
import { waitUntil } from './wait.js';

/** What the server-side tool saw, for assertions about cancellation reaching tool code. */
const observed = { started: 0, aborted: 0, abortReason: '' as string, stopped: 0, itemsAfterAbort: 0 };

export const watchAbortTool = defineTool({
  name: 'watch_abort',
  description: 'Runs until cancelled, recording what its signal did',
  inputSchema: Type.Object({}),
  async handler(_args, ctx) {
    observed.started++;
    ctx.signal.addEventListener('abort', () => {
      observed.aborted++;
      observed.abortReason = String((ctx.signal.reason as Error)?.message ?? ctx.signal.reason);
    });
    let afterAbort = 0;
    try {
      for (let i = 1; ; i++) {
        if (ctx.signal.aborted) afterAbort++;
        ctx.progress({ progress: i });
        await new Promise((r) => setTimeout(r, 5));
        await ctx.checkpoint();
      }
    } finally {
      observed.itemsAfterAbort = afterAbort;
      observed.stopped++;
    }
  },
});

export const ALL_TRANSPORTS: TransportName[] = ['ws', 'sse', 'streamable'];

/**
 * Define the behaviour suite for each transport; `urls()` is read when a test runs (the server starts
 * in the caller's `before`).
 */
export function defineTransportSuite(label: string, urls: () => Record<TransportName, string>, transports: TransportName[] = ALL_TRANSPORTS): void {
  for (const kind of transports) {
    const url = () => urls()[kind];
    describe(`${label}: ${kind} transport with the SDK client`, () => {
      test('lists the tools with their JSON Schemas', async () => {
        const client = await connectSdkClient(url());
        try {
          const { tools } = await client.listTools();
          const names = tools.map((t) => t.name).sort();
          assert.deepEqual(names, ['echo', 'process_batch', 'process_images', 'watch_abort']);
          const batch = tools.find((t) => t.name === 'process_batch')!;
          assert.equal(batch.inputSchema.type, 'object');
          assert.deepEqual(batch.inputSchema.required, ['count']);
          assert.equal((batch.inputSchema.properties as any).count.type, 'integer');
          assert.equal(client.getServerVersion()?.name, 'realtime-mcp');
        } finally {
          await client.close();
        }
      });

      test('calls echo', async () => {
        const client = await connectSdkClient(url());
        try {
          const result = await client.callTool({ name: 'echo', arguments: { message: `hello over ${kind} ✓` } });
          assert.deepEqual(result.content, [{ type: 'text', text: `hello over ${kind} ✓` }]);
        } finally {
          await client.close();
        }
      });

      test('process_batch delivers every progress value in order before the result', async () => {
        const client = await connectSdkClient(url());
        try {
          const seen: number[] = [];
          const messages: string[] = [];
          let resultArrivedAfter = -1;
          const result = await client.callTool({ name: 'process_batch', arguments: { count: 60, delayMs: 1 } }, undefined, {
            onprogress: (p) => {
              seen.push(p.progress);
              messages.push(p.message ?? '');
              assert.equal(p.total, 60);
            },
          });
          resultArrivedAfter = seen.length;
          assert.deepEqual(seen, Array.from({ length: 60 }, (_, i) => i + 1));
          assert.equal(resultArrivedAfter, 60);
          assert.match((result.content as any)[0].text, /Processed 60 items/);
          assert.deepEqual((result.structuredContent as any).processed, 60);
          // The message carries the count (rate and ETA join it once a second of progress is measured: see progress-rate tests).
          assert.deepEqual(messages.map((m) => m.split(' · ')[0]), Array.from({ length: 60 }, (_, i) => `${i + 1}/60`));
        } finally {
          await client.close();
        }
      });

      test('cancelling through the client AbortSignal aborts the tool signal and stops the tool', async () => {
        const client = await connectSdkClient(url());
        try {
          const before = { ...observed };
          const controller = new AbortController();
          let progressCount = 0;
          const call = client.callTool({ name: 'watch_abort', arguments: {} }, undefined, {
            signal: controller.signal,
            onprogress: () => {
              progressCount++;
              if (progressCount === 3) controller.abort('user pressed stop');
            },
          });
          await assert.rejects(call, /user pressed stop|AbortError|aborted/i);
          await waitUntil(() => observed.stopped === before.stopped + 1, 'the tool to stop after the cancel', 3000);
          assert.equal(observed.started, before.started + 1);
          assert.equal(observed.aborted, before.aborted + 1);
          assert.match(observed.abortReason, /user pressed stop/);
          assert.ok(observed.itemsAfterAbort <= 1, `tool kept working after abort (${observed.itemsAfterAbort} items)`);
          // The session is still usable after a cancel.
          const echo = await client.callTool({ name: 'echo', arguments: { message: 'still here' } });
          assert.deepEqual(echo.content, [{ type: 'text', text: 'still here' }]);
        } finally {
          await client.close();
        }
      });

      test('two concurrent clients each receive only their own progress', async () => {
        const [a, b] = await Promise.all([connectSdkClient(url(), 'a'), connectSdkClient(url(), 'b')]);
        try {
          const seenA: Array<{ progress: number; total?: number }> = [];
          const seenB: Array<{ progress: number; total?: number }> = [];
          const [ra, rb] = await Promise.all([
            a.callTool({ name: 'process_batch', arguments: { count: 30, delayMs: 1 } }, undefined, { onprogress: (p) => seenA.push(p) }),
            b.callTool({ name: 'process_batch', arguments: { count: 45, delayMs: 1 } }, undefined, { onprogress: (p) => seenB.push(p) }),
          ]);
          assert.deepEqual(seenA.map((p) => p.progress), Array.from({ length: 30 }, (_, i) => i + 1));
          assert.deepEqual(seenB.map((p) => p.progress), Array.from({ length: 45 }, (_, i) => i + 1));
          assert.ok(seenA.every((p) => p.total === 30));
          assert.ok(seenB.every((p) => p.total === 45));
          assert.match((ra.content as any)[0].text, /Processed 30/);
          assert.match((rb.content as any)[0].text, /Processed 45/);
        } finally {
          await Promise.all([a.close(), b.close()]);
        }
      });

      test('invalid arguments are rejected with -32602 naming the failing path', async () => {
        const client = await connectSdkClient(url());
        try {
          await assert.rejects(
            client.callTool({ name: 'process_batch', arguments: { count: 'ten' } }),
            (err: unknown) => {
              assert.ok(err instanceof McpError);
              assert.equal(err.code, -32602);
              assert.match(err.message, /\/count must be integer/);
              return true;
            },
          );
          await assert.rejects(client.callTool({ name: 'echo', arguments: {} }), (err: unknown) => {
            assert.ok(err instanceof McpError);
            assert.equal(err.code, -32602);
            assert.match(err.message, /message/);
            return true;
          });
        } finally {
          await client.close();
        }
      });

      test('a failing item gives error -32000 with data.lastSuccessful', async () => {
        const client = await connectSdkClient(url());
        try {
          await assert.rejects(client.callTool({ name: 'process_batch', arguments: { count: 10, failAt: 7 } }), (err: unknown) => {
            assert.ok(err instanceof McpError);
            assert.equal(err.code, -32000);
            assert.equal((err.data as any).lastSuccessful, 6);
            return true;
          });
        } finally {
          await client.close();
        }
      });
    });
  }
}

