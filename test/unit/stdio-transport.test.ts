// The stdio transport over in-memory streams (PassThrough for stdin and stdout) with a real McpCore:
// requests in, responses out, one JSON message per line, the line limit, bad JSON, the ordering barrier
// (answered by the test as a client would), and the end of stdin ending the session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import Type from 'typebox';
import { McpCore } from '../../src/mcp-core.js';
import { StdioTransport } from '../../src/transports/stdio/stdio-transport.js';
import { defineTool } from '../../src/tools/define.js';
import type { OperationAbort } from '../../src/operations/operation.js';
import { waitUntil } from '../helpers/wait.js';

const INIT = { jsonrpc: '2.0', id: 'init', method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'stdio-test', version: '0' } } };

function stdio(t: { after(fn: () => unknown): void }, maxLineBytes = 4096) {
  let abortedWith: OperationAbort | undefined;
  const core = new McpCore({
    identity: { name: 'stdio-unit', version: '0' },
    tools: [
      defineTool({
        name: 'count',
        description: 'reports progress, then answers',
        inputSchema: Type.Object({ n: Type.Integer() }),
        handler: async ({ n }, ctx) => {
          for (let i = 1; i <= n; i++) ctx.progress({ progress: i, total: n });
          return `counted ${n}`;
        },
      }),
      defineTool({
        name: 'forever',
        description: 'runs until aborted',
        inputSchema: Type.Object({}),
        handler: (_args, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => {
          abortedWith = ctx.signal.reason as OperationAbort;
          reject(ctx.signal.reason);
        })),
      }),
    ],
  });
  t.after(() => core.live.close());
  const input = new PassThrough();
  const output = new PassThrough();
  const lines: string[] = [];
  let partial = '';
  output.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  const session = core.createSession('stdio', undefined);
  const transport = new StdioTransport(session, core, input, output, { maxLineBytes });
  const messages = () => lines.map((l) => JSON.parse(l));
  const answerTo = async (id: unknown) => {
    await waitUntil(() => messages().some((m) => m.id === id && m.method === undefined), `an answer to ${JSON.stringify(id)}`);
    return messages().find((m) => m.id === id && m.method === undefined);
  };
  const send = (value: unknown) => input.write(`${typeof value === 'string' ? value : JSON.stringify(value)}\n`);
  return { core, session, transport, input, output, lines, messages, answerTo, send, abortedWith: () => abortedWith, partial: () => partial };
}

test('requests in, responses out: one JSON message per line on stdout', async (t) => {
  const s = stdio(t);
  s.send(INIT);
  const init = await s.answerTo('init');
  assert.equal(init.result.serverInfo.name, 'stdio-unit');
  s.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  // Two messages in one chunk, the second split across chunks, with CRLF line ends.
  s.input.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })}\r\n{"jsonrpc":"2.0","id":2,`);
  s.input.write('"method":"tools/list"}\r\n\n   \n');
  assert.deepEqual((await s.answerTo(1)).result, {});
  assert.deepEqual((await s.answerTo(2)).result.tools.map((x: any) => x.name), ['count', 'forever']);
  assert.equal(s.session.initialized, true);
  assert.equal(s.partial(), '', 'every message ends with a newline');
  assert.equal(s.messages().length, 3, 'blank lines get no answer');
});

test('a bad JSON line is answered with -32700 (id null) and the session goes on', async (t) => {
  const s = stdio(t);
  s.send('{"jsonrpc":"2.0","id":1,"method":');
  await waitUntil(() => s.lines.length === 1, 'the parse error');
  const [parseError] = s.messages();
  assert.equal(parseError.id, null);
  assert.equal(parseError.error.code, -32700);
  assert.match(parseError.error.message, /^Parse error: /);
  s.send('[1,2]');
  await waitUntil(() => s.lines.length === 2, 'the batch refusal');
  assert.equal(s.messages()[1].error.code, -32600);
  s.send({ jsonrpc: '2.0', id: 'after', method: 'ping' });
  assert.deepEqual((await s.answerTo('after')).result, {});
});

test('an unterminated line over maxLineBytes is refused with -32600 and dropped; the next line works', async (t) => {
  const s = stdio(t, 100);
  s.input.write('x'.repeat(150)); // no newline yet: over the limit already
  await waitUntil(() => s.lines.length === 1, 'the refusal');
  assert.deepEqual(s.messages()[0], { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request: message larger than 100 bytes' } });
  s.input.write('\n');
  s.send({ jsonrpc: '2.0', id: 'next', method: 'ping' });
  assert.deepEqual((await s.answerTo('next')).result, {});
  assert.equal(s.messages().length, 2, 'the dropped line\'s newline produced nothing more');
});

test('a complete line over maxLineBytes that arrives in one chunk is refused too', async (t) => {
  const s = stdio(t, 100);
  s.send({ jsonrpc: '2.0', id: 'big', method: 'ping', params: { pad: 'x'.repeat(200) } });
  await waitUntil(() => s.lines.length === 1, 'an answer');
  assert.equal(s.messages()[0].error?.code, -32600, JSON.stringify(s.messages()[0]));
});

test('the tail of a refused line is dropped, not parsed as a line of its own', async (t) => {
  const s = stdio(t, 100);
  s.input.write(`{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"${'x'.repeat(150)}`);
  await waitUntil(() => s.lines.length === 1, 'the refusal');
  s.input.write(`${'y'.repeat(20)}"}}\n`);
  s.send({ jsonrpc: '2.0', id: 'next', method: 'ping' });
  await s.answerTo('next');
  assert.deepEqual(s.messages().map((m) => m.error?.code ?? m.id), [-32600, 'next']);
});

test('progress before a result: the result waits for a ping the client answers (ordering barrier)', async (t) => {
  const s = stdio(t);
  s.send(INIT);
  await s.answerTo('init');
  s.send({ jsonrpc: '2.0', id: 'c', method: 'tools/call', params: { name: 'count', arguments: { n: 3 }, _meta: { progressToken: 'tok' } } });
  await waitUntil(() => s.messages().some((m) => m.method === 'ping'), 'the barrier ping');
  const ping = s.messages().find((m) => m.method === 'ping');
  assert.deepEqual(s.messages().filter((m) => m.method === 'notifications/progress').map((m) => m.params.progress), [1, 2, 3]);
  assert.equal(s.messages().some((m) => m.id === 'c'), false, 'the result waits for the answer');
  s.send({ jsonrpc: '2.0', id: ping.id, result: {} });
  const result = await s.answerTo('c');
  assert.deepEqual(result.result.content, [{ type: 'text', text: 'counted 3' }]);
  const order = s.messages().map((m) => m.method ?? m.id);
  assert.deepEqual(order.slice(1), ['notifications/progress', 'notifications/progress', 'notifications/progress', 'ping', 'c']);
});

test('the end of stdin ends the session: calls in flight are aborted, `done` resolves, later input is ignored', async (t) => {
  const s = stdio(t);
  s.send({ jsonrpc: '2.0', id: 'f', method: 'tools/call', params: { name: 'forever', arguments: {} } });
  await waitUntil(() => s.core.runner.size === 1, 'the call to start');
  assert.equal(s.core.sessions.size, 1);
  s.input.end();
  await s.transport.done;
  assert.equal(s.session.closed, true);
  assert.equal(s.core.sessions.size, 0);
  assert.equal(s.core.runner.size, 0);
  assert.equal(s.abortedWith()?.kind, 'disconnected');
  assert.equal(s.abortedWith()?.message, 'stdin closed');
  assert.equal(s.messages().some((m) => m.id === 'f'), false, 'nobody to answer');
});

test('close() ends the session the same way', async (t) => {
  const s = stdio(t);
  await s.transport.close('shutting down');
  await s.transport.done;
  assert.equal(s.session.closed, true);
  s.transport.write('g', 1, '{"late":true}', undefined);
  assert.equal(s.lines.length, 0, 'nothing is written after the end');
});
