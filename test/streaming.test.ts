// Streaming partial results: ctx.stream(content) sends `notifications/tool/streamContent` at once (the
// tool below only goes on after the client has seen each piece, so late delivery would hang the test)
// and the final result carries the streamed content before the handler's own.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Type from 'typebox';
import { defineTool } from '../src/tools/define.js';
import { startServer, type TestServer } from './helpers/server.js';
import { connectSdkClient } from './helpers/sdk-client.js';
import { openRaw } from './helpers/raw-ws.js';

/** Resolvers the test calls once it has received piece N. */
const acks: Array<() => void> = [];

const streamWordsTool = defineTool({
  name: 'stream_words',
  description: 'Streams each word as a text content; with waitForAck, waits until the test saw it',
  inputSchema: Type.Object({ words: Type.Array(Type.String()), waitForAck: Type.Optional(Type.Boolean()) }),
  async handler({ words, waitForAck }, ctx) {
    for (const [i, word] of words.entries()) {
      ctx.stream({ type: 'text', text: word });
      ctx.progress({ progress: i + 1, total: words.length });
      if (waitForAck) await new Promise<void>((resolve) => (acks[i] = resolve));
    }
    return `${words.length} words`;
  },
});

/** Fails after streaming: the error result keeps what was streamed. */
const streamThenThrowTool = defineTool({
  name: 'stream_then_throw',
  description: 'Streams one piece, then throws',
  inputSchema: Type.Object({}),
  handler(_args, ctx) {
    ctx.stream([{ type: 'text', text: 'partial 1' }, { type: 'text', text: 'partial 2' }]);
    throw new Error('disk full');
  },
});

describe('streaming partial results (ctx.stream)', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ tools: [streamWordsTool, streamThenThrowTool] });
  });
  after(() => server.close());

  test('each piece reaches the SDK client while the call runs, and the result starts with them', async () => {
    const client = await connectSdkClient(server.wsUrl);
    try {
      const pieces: any[] = [];
      client.fallbackNotificationHandler = async (n) => {
        if (n.method !== 'notifications/tool/streamContent') return;
        pieces.push(n.params);
        acks[pieces.length - 1]?.(); // let the tool produce the next piece
      };
      const words = ['alpha', 'beta', 'gamma'];
      const progress: number[] = [];
      const result = await client.callTool({ name: 'stream_words', arguments: { words, waitForAck: true } }, undefined, {
        onprogress: (p) => progress.push(p.progress),
        timeout: 5000, // pieces held back until the end would leave the tool waiting for its ack
      });
      assert.equal(pieces.length, 3);
      for (const [i, p] of pieces.entries()) {
        assert.equal(p.toolName, 'stream_words');
        assert.deepEqual(p.content, [{ type: 'text', text: words[i] }]);
        assert.ok(p.progressToken !== undefined, 'carries the call\'s progress token');
        assert.equal(p.requestId, pieces[0].requestId);
      }
      assert.deepEqual(progress, [1, 2, 3]);
      assert.deepEqual(result.content, [
        { type: 'text', text: 'alpha' },
        { type: 'text', text: 'beta' },
        { type: 'text', text: 'gamma' },
        { type: 'text', text: '3 words' },
      ]);
    } finally {
      await client.close();
    }
  });

  test('a client that ignores the notification still gets everything in the result', async () => {
    const client = await connectSdkClient(server.wsUrl);
    try {
      const result = await client.callTool({ name: 'stream_words', arguments: { words: ['one', 'two'] } });
      assert.deepEqual(result.content, [
        { type: 'text', text: 'one' },
        { type: 'text', text: 'two' },
        { type: 'text', text: '2 words' },
      ]);
      // Unknown notifications do not disturb the SDK client: the session still works.
      assert.deepEqual((await client.callTool({ name: 'echo', arguments: { message: 'ok' } })).content, [{ type: 'text', text: 'ok' }]);
    } finally {
      await client.close();
    }
  });

  test('wire form: requestId and toolName, no progressToken without one; an error result keeps the streamed content', async () => {
    const client = await openRaw(server.wsUrl);
    try {
      await client.initialize();
      client.send({ jsonrpc: '2.0', id: 'w1', method: 'tools/call', params: { name: 'stream_then_throw', arguments: {} } });
      const note = await client.waitFor((m) => m.method === 'notifications/tool/streamContent');
      assert.deepEqual(note, {
        jsonrpc: '2.0',
        method: 'notifications/tool/streamContent',
        params: { requestId: 'w1', toolName: 'stream_then_throw', content: [{ type: 'text', text: 'partial 1' }, { type: 'text', text: 'partial 2' }] },
      });
      const response = await client.waitFor((m) => m.id === 'w1');
      assert.deepEqual(response.result, {
        content: [{ type: 'text', text: 'partial 1' }, { type: 'text', text: 'partial 2' }, { type: 'text', text: 'disk full' }],
        isError: true,
      });
    } finally {
      client.close();
    }
  });
});
