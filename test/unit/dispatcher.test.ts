// The Dispatcher with a real runner and registry, over a session whose outbox records what it is handed:
// initialize and version negotiation, ping, tools/list and its hook, every tools/call refusal, logging,
// both ways to cancel, unknown methods, and responses from the client routed to session.request.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import Type from 'typebox';
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { Dispatcher, type ServerIdentity } from '../../src/protocol/dispatcher.js';
import { OperationRunner } from '../../src/operations/runner.js';
import type { OperationAbort } from '../../src/operations/operation.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import { defineTool } from '../../src/tools/define.js';
import { Errors, RpcError } from '../../src/errors.js';
import type { IncomingMessage } from '../../src/jsonrpc.js';
import { recordingSession, settle } from '../helpers/doubles.js';

const IDENTITY: ServerIdentity = { name: 'unit-server', version: '9.9.9' };

function setup(options: { identity?: ServerIdentity; maxConcurrentPerSession?: number } = {}) {
  const tools = new ToolRegistry();
  const aborted = new Map<string | number, OperationAbort>();
  let progressToken: unknown;
  tools.register(defineTool({ name: 'echo', description: 'echo', inputSchema: Type.Object({ message: Type.String() }), handler: ({ message }) => message }));
  tools.register(defineTool({
    name: 'wait',
    description: 'runs until aborted',
    inputSchema: Type.Object({}),
    handler: (_args, ctx) => {
      progressToken = (ctx as { progressToken?: unknown }).progressToken;
      return new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => {
        aborted.set(ctx.requestId, ctx.signal.reason as OperationAbort);
        reject(ctx.signal.reason);
      }));
    },
  }));
  tools.register(defineTool({ name: 'secret', description: 'guarded', inputSchema: Type.Object({}), handler: () => 'secret' }));
  const runner = new OperationRunner({ limits: { maxConcurrentPerSession: options.maxConcurrentPerSession ?? 4 } });
  const dispatcher = new Dispatcher(tools, runner, options.identity ?? IDENTITY);
  const rec = recordingSession();
  const send = (message: object) => dispatcher.handle(rec.session, message as IncomingMessage);
  const request = (id: string | number, method: string, params?: Record<string, unknown>) =>
    send(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params });
  const answer = (id: string | number) => {
    const all = rec.answers(id);
    assert.equal(all.length, 1, `exactly one answer to ${JSON.stringify(id)}, got ${JSON.stringify(all)}`);
    return all[0];
  };
  return { dispatcher, runner, tools, ...rec, send, request, answer, aborted, progressToken: () => progressToken };
}

const initParams = (protocolVersion: unknown) => ({ protocolVersion, capabilities: { sampling: {} }, clientInfo: { name: 'c', version: '1' } });

describe('initialize', () => {
  test('a supported version is accepted as asked; the answer names the server and its capabilities', () => {
    const d = setup();
    const older = SUPPORTED_PROTOCOL_VERSIONS.find((v) => v !== LATEST_PROTOCOL_VERSION)!;
    d.request(1, 'initialize', initParams(older));
    assert.deepEqual(d.answer(1).result, {
      protocolVersion: older,
      capabilities: { tools: { listChanged: false }, logging: {} },
      serverInfo: { name: 'unit-server', version: '9.9.9' },
      // A WebSocket session's id, for clients that cannot read the 101's header (browsers) and resume with it.
      _meta: { 'realtime-mcp/sessionId': d.session.id },
    });
    assert.equal(d.session.protocolVersion, older);
    assert.deepEqual(d.session.clientCapabilities, { sampling: {} });
    assert.deepEqual(d.session.clientInfo, { name: 'c', version: '1' });
  });

  test('an unknown version gets the latest one; title, instructions and added capabilities are announced', () => {
    const d = setup({ identity: { name: 'n', version: '1', title: 'Nice Name', instructions: 'be kind' } });
    d.dispatcher.addCapabilities({ resources: { subscribe: true } });
    d.request(1, 'initialize', { protocolVersion: '1999-01-01' });
    const { result } = d.answer(1);
    assert.equal(result.protocolVersion, LATEST_PROTOCOL_VERSION);
    assert.deepEqual(result.serverInfo, { name: 'n', title: 'Nice Name', version: '1' });
    assert.equal(result.instructions, 'be kind');
    assert.deepEqual(result.capabilities.resources, { subscribe: true });
    assert.deepEqual(d.session.clientCapabilities, {}, 'capabilities default to {}');
    assert.equal(d.session.clientInfo, undefined);
  });

  test('no string protocolVersion → -32602; a second initialize → -32600', () => {
    const d = setup();
    d.request(1, 'initialize', { protocolVersion: 20250618 });
    assert.deepEqual(d.answer(1).error, { code: -32602, message: 'Invalid params: initialize needs a string "protocolVersion"' });
    assert.equal(d.session.protocolVersion, undefined);
    d.request(2, 'initialize', initParams(LATEST_PROTOCOL_VERSION));
    assert.ok(d.answer(2).result);
    d.request(3, 'initialize', initParams(LATEST_PROTOCOL_VERSION));
    assert.deepEqual(d.answer(3).error, { code: -32600, message: 'Invalid Request: this session is already initialized' });
  });

  test('notifications/initialized marks the session, with no answer', () => {
    const d = setup();
    d.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    assert.equal(d.session.initialized, true);
    assert.deepEqual(d.sent, []);
  });
});

describe('ping, tools/list, logging/setLevel, unknown methods', () => {
  test('ping answers {}; a ping notification answers with a pong notification', () => {
    const d = setup();
    d.request('p', 'ping');
    assert.deepEqual(d.answer('p'), { jsonrpc: '2.0', id: 'p', result: {} });
    d.send({ jsonrpc: '2.0', method: 'ping' });
    assert.deepEqual(d.bodies().at(-1), { jsonrpc: '2.0', method: 'pong' });
  });

  test('tools/list lists the registry, through every filterTools hook in order', () => {
    const d = setup();
    d.request(1, 'tools/list');
    assert.deepEqual(d.answer(1).result.tools.map((t: any) => t.name), ['echo', 'wait', 'secret']);
    const sessions: unknown[] = [];
    d.dispatcher.hooks.add('filterTools', (tools, session) => {
      sessions.push(session);
      return tools.filter((t) => t.name !== 'secret');
    });
    d.dispatcher.hooks.add('filterTools', (tools) => tools.filter((t) => t.name !== 'wait'));
    d.request(2, 'tools/list');
    assert.deepEqual(d.answer(2).result.tools.map((t: any) => t.name), ['echo']);
    assert.deepEqual(sessions, [d.session], 'the hook is told whose list it filters');
    assert.equal(d.tools.list().length, 3, 'the shared list itself is untouched');
  });

  test('logging/setLevel sets the level; an unknown level → -32602 listing the levels', () => {
    const d = setup();
    d.request(1, 'logging/setLevel', { level: 'error' });
    assert.deepEqual(d.answer(1).result, {});
    assert.equal(d.session.logLevel, 'error');
    assert.equal(d.session.wantsLog('warning'), false);
    assert.equal(d.session.wantsLog('critical'), true);
    d.request(2, 'logging/setLevel', { level: 'loud' });
    assert.deepEqual(d.answer(2).error, { code: -32602, message: 'Invalid params: level must be one of debug, info, notice, warning, error, critical, alert, emergency' });
    assert.equal(d.session.logLevel, 'error');
  });

  test('an unknown method → -32601 naming it; an unknown notification is ignored', () => {
    const d = setup();
    d.request(1, 'tools/destroy');
    assert.deepEqual(d.answer(1).error, { code: -32601, message: 'Method not found: tools/destroy' });
    d.send({ jsonrpc: '2.0', method: 'notifications/whatever' });
    assert.equal(d.sent.length, 1);
  });

  test('added handlers: a sync or async result is sent; an RpcError keeps its code; anything else is an opaque -32603', async () => {
    const d = setup();
    d.dispatcher.setRequestHandler('x/sync', ({ params }) => ({ got: params }));
    d.dispatcher.setRequestHandler('x/async', async () => ({ later: true }));
    d.dispatcher.setRequestHandler('x/rpc', () => {
      throw new RpcError(Errors.RESOURCE_NOT_FOUND, 'no such thing', { uri: 'u' });
    });
    d.dispatcher.setRequestHandler('x/crash', async () => {
      throw new Error('secret internals');
    });
    d.request(1, 'x/sync', { a: 1 });
    d.request(2, 'x/async');
    d.request(3, 'x/rpc');
    d.request(4, 'x/crash');
    d.request(5, 'x/sync');
    await settle();
    assert.deepEqual(d.answer(1).result, { got: { a: 1 } });
    assert.deepEqual(d.answer(2).result, { later: true });
    assert.deepEqual(d.answer(3).error, { code: -32002, message: 'no such thing', data: { uri: 'u' } });
    assert.deepEqual(d.answer(4).error, { code: -32603, message: 'Internal error' });
    assert.deepEqual(d.answer(5).result, { got: {} }, 'missing params are passed as {}');
  });
});

describe('tools/call', () => {
  test('a valid call runs and is answered; the progress token is taken from _meta', () => {
    const d = setup();
    d.request(1, 'tools/call', { name: 'echo', arguments: { message: 'hi' } });
    assert.deepEqual(d.answer(1).result, { content: [{ type: 'text', text: 'hi' }] });
    d.request(2, 'tools/call', { name: 'wait', _meta: { progressToken: 'tok' } });
    assert.equal(d.progressToken(), 'tok');
    d.request(3, 'tools/call', { name: 'wait', _meta: { progressToken: 1.5 } });
    assert.equal(d.progressToken(), undefined, 'a token that is not a string or integer is ignored');
    d.request(4, 'tools/call', { name: 'wait', _meta: null });
    assert.equal(d.runner.size, 3);
  });

  test('each refusal is -32602/-32600 with a message that says what is wrong, and nothing runs', () => {
    const d = setup();
    const cases: Array<[Record<string, unknown> | undefined, number, string | RegExp]> = [
      [undefined, -32602, 'Invalid params: tools/call needs a string "name"'],
      [{ name: 7 }, -32602, 'Invalid params: tools/call needs a string "name"'],
      [{ name: 'nope' }, -32602, 'Unknown tool: nope'],
      [{ name: 'echo', arguments: [] }, -32602, 'Invalid params: "arguments" must be an object'],
      [{ name: 'echo', arguments: null }, -32602, 'Invalid params: "arguments" must be an object'],
      [{ name: 'echo', arguments: 'hi' }, -32602, 'Invalid params: "arguments" must be an object'],
      [{ name: 'echo', arguments: {} }, -32602, /^Invalid arguments for tool echo: .*message/],
      [{ name: 'echo', arguments: { message: 5 } }, -32602, /^Invalid arguments for tool echo: \/message/],
    ];
    cases.forEach(([params, code, message], i) => {
      d.request(i, 'tools/call', params);
      const { error } = d.answer(i);
      assert.equal(error.code, code, JSON.stringify(params));
      if (typeof message === 'string') assert.equal(error.message, message);
      else assert.match(error.message, message);
    });
    assert.equal(d.runner.size, 0);
  });

  test('an id already in flight → -32600, and the first call goes on', () => {
    const d = setup();
    d.request('dup', 'tools/call', { name: 'wait' });
    d.request('dup', 'tools/call', { name: 'echo', arguments: { message: 'x' } });
    assert.deepEqual(d.answer('dup').error, { code: -32600, message: 'Invalid Request: request id "dup" is already in flight' });
    assert.equal(d.runner.size, 1);
    assert.equal(d.session.operations.get('dup')!.tool.definition.name, 'wait');
  });

  test('preToolCall may refuse with an RpcError (its code) — or a plain Error (-32603); others still run', () => {
    const d = setup();
    const asked: string[] = [];
    d.dispatcher.hooks.add('preToolCall', (session, name) => {
      assert.equal(session, d.session);
      asked.push(name);
      if (name === 'secret') throw new RpcError(Errors.INSUFFICIENT_SCOPE, 'Missing scope: secret:read');
      if (name === 'wait') throw new Error('a bug in a hook');
    });
    d.request(1, 'tools/call', { name: 'secret' });
    d.request(2, 'tools/call', { name: 'wait' });
    d.request(3, 'tools/call', { name: 'echo', arguments: { message: 'ok' } });
    d.request(4, 'tools/call', { name: 'nope' });
    assert.deepEqual(d.answer(1).error, { code: -32003, message: 'Missing scope: secret:read' });
    assert.deepEqual(d.answer(2).error, { code: -32603, message: 'Internal error' });
    assert.deepEqual(d.answer(3).result.content, [{ type: 'text', text: 'ok' }]);
    assert.deepEqual(asked, ['secret', 'wait', 'echo'], 'the hook only sees registered tools');
    assert.equal(d.runner.size, 0);
  });

  test('while refusing calls (shutdown) a tools/call → -32010; other requests are still served', () => {
    const d = setup();
    d.request('running', 'tools/call', { name: 'wait' });
    d.dispatcher.refusingCalls = true;
    d.request('late', 'tools/call', { name: 'echo', arguments: { message: 'x' } });
    assert.deepEqual(d.answer('late').error, {
      code: -32010,
      message: 'Server shutting down: not accepting new calls; retry on another instance or after restart',
    });
    d.request('p', 'ping');
    assert.deepEqual(d.answer('p').result, {});
    assert.equal(d.runner.size, 1, 'the call in flight is not touched');
  });
});

describe('cancelling', () => {
  test('notifications/cancelled aborts the call with its reason and no answer is ever sent; unknown or bad ids are ignored', async () => {
    const d = setup();
    d.request(1, 'tools/call', { name: 'wait' });
    d.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 999 } });
    d.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: { id: 1 } } });
    d.send({ jsonrpc: '2.0', method: 'notifications/cancelled' });
    assert.equal(d.runner.size, 1);
    d.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1, reason: 'changed my mind' } });
    await settle();
    assert.equal(d.aborted.get(1)!.kind, 'cancelled');
    assert.equal(d.aborted.get(1)!.message, 'changed my mind');
    assert.equal(d.runner.size, 0);
    assert.deepEqual(d.sent, []);
    // Without a reason the default one is used.
    d.request(2, 'tools/call', { name: 'wait' });
    d.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 2 } });
    await settle();
    assert.equal(d.aborted.get(2)!.message, 'cancelled by the client');
  });

  test('cancelling a queued call (answered at once by the runner) still answers the `cancel` request first', async () => {
    const d = setup({ maxConcurrentPerSession: 1 });
    d.request('running', 'tools/call', { name: 'wait' });
    d.request('queued', 'tools/call', { name: 'wait' });
    d.request('c', 'cancel', { requestId: 'queued' });
    await settle();
    assert.deepEqual(d.bodies().map((b) => b.id), ['c', 'queued']);
    assert.equal(d.answer('queued').result.content[0].text, 'Cancelled: cancelled by the client');
  });

  test('the `cancel` request answers { cancelled: true } first, then the call answers "Cancelled: <reason>"', async () => {
    const d = setup();
    d.request('job', 'tools/call', { name: 'wait' });
    d.request('c', 'cancel', { requestId: 'job', reason: 'enough' });
    await settle();
    assert.deepEqual(d.bodies(), [
      { jsonrpc: '2.0', id: 'c', result: { cancelled: true } },
      { jsonrpc: '2.0', id: 'job', result: { content: [{ type: 'text', text: 'Cancelled: enough' }], isError: true } },
    ]);
    d.request('again', 'cancel', { requestId: 'job' });
    assert.deepEqual(d.answer('again').result, { cancelled: false, reason: 'no such request in flight' });
    d.request('bad', 'cancel', {});
    assert.deepEqual(d.answer('bad').error, { code: -32602, message: 'Invalid params: cancel needs "requestId" (string or integer)' });
  });
});

describe('responses from the client', () => {
  test('a result or error is routed to the session.request waiting for that id; others are ignored', async () => {
    const d = setup();
    const ok = d.session.request('roots/list', undefined);
    const refused = d.session.request('sampling/createMessage', { messages: [] });
    const [first, second] = d.bodies();
    assert.equal(first.method, 'roots/list');
    assert.equal(second.method, 'sampling/createMessage');
    assert.notEqual(first.id, second.id);
    d.send({ jsonrpc: '2.0', id: 'not-ours', result: {} }); // nothing waits for it: ignored, no answer
    d.send({ jsonrpc: '2.0', id: second.id, error: { code: -1, message: 'user declined', data: { why: 'no' } } });
    d.send({ jsonrpc: '2.0', id: first.id, result: { roots: [] } });
    assert.deepEqual(await ok, { roots: [] });
    await assert.rejects(refused, (err: any) => err.message === 'user declined' && err.code === -1 && err.data.why === 'no');
    assert.equal(d.sent.length, 2, 'responses are never answered');
  });
});
