// Hostile input over an open, authenticated WebSocket: one table row per input, each with the error
// code, close code or silence it must produce. After every row the server still answers and a
// concurrently connected well-behaved client completes a call undisturbed.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openRaw, type RawClient } from '../helpers/raw-ws.js';
import { bearer } from '../helpers/tokens.js';
import { startHostile, type Hostile } from './harness.js';

type Frame = string | { binary: Buffer } | { rawText: Buffer };
type Expect =
  | { error: number; id?: unknown }
  | { result: true; id?: unknown }
  | { close: number }
  | { silent: true };

interface Row {
  name: string;
  /** Frames to send (a function is called once, for big inputs). */
  input: Frame[] | (() => Frame[]);
  expect: Expect;
  /** Send initialize first (default true). */
  init?: boolean;
}

const req = (id: unknown, method: string, params?: unknown) => JSON.stringify(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params });
const call = (id: number, name: unknown, args?: unknown) => req(id, 'tools/call', args === undefined ? { name } : { name, arguments: args });
const deep = (n: number, open: string, close: string, inner = '1') => open.repeat(n) + inner + close.repeat(n);
const MiB = 1024 * 1024;
const LIMIT = 4 * MiB; // MAX_PAYLOAD_BYTES default

const rows: Row[] = [
  // Not JSON at all
  { name: 'invalid JSON', input: ['{'], expect: { error: -32700, id: null } },
  { name: 'truncated request', input: ['{"jsonrpc":"2.0","id":1,"method":"ping"'], expect: { error: -32700 } },
  { name: 'empty text frame', input: [''], expect: { error: -32700 } },
  { name: 'whitespace only', input: ['   \n\t '], expect: { error: -32700 } },
  { name: 'UTF-8 BOM before JSON', input: ['\uFEFF' + req(1, 'ping')], expect: { error: -32700 } },
  { name: 'NaN literal', input: ['{"jsonrpc":"2.0","id":NaN,"method":"ping"}'], expect: { error: -32700 } },
  { name: 'single-quoted JSON', input: ["{'jsonrpc':'2.0','id':1,'method':'ping'}"], expect: { error: -32700 } },
  { name: 'trailing garbage', input: [req(1, 'ping') + 'xyz'], expect: { error: -32700 } },
  { name: 'lone surrogate escapes', input: ['{"jsonrpc":"2.0","id":"\\ud800","method":"ping"}'], expect: { result: true } },
  { name: 'invalid UTF-8 in a text frame', input: [{ rawText: Buffer.from([0x7b, 0xc3, 0x28, 0x7d]) }], expect: { close: 1007 } },
  { name: 'overlong UTF-8 encoding', input: [{ rawText: Buffer.from([0xc0, 0xaf]) }], expect: { close: 1007 } },
  // JSON that is not a JSON-RPC object
  { name: 'null', input: ['null'], expect: { error: -32600, id: null } },
  { name: 'a number', input: ['42'], expect: { error: -32600 } },
  { name: 'a string', input: ['"ping"'], expect: { error: -32600 } },
  { name: 'true', input: ['true'], expect: { error: -32600 } },
  { name: 'empty array (batch)', input: ['[]'], expect: { error: -32600 } },
  { name: 'batch of requests', input: [`[${req(1, 'ping')},${req(2, 'ping')}]`], expect: { error: -32600 } },
  { name: 'empty object', input: ['{}'], expect: { error: -32600 } },
  // Wrong jsonrpc
  { name: 'jsonrpc "1.0"', input: ['{"jsonrpc":"1.0","id":1,"method":"ping"}'], expect: { error: -32600, id: 1 } },
  { name: 'jsonrpc missing', input: ['{"id":1,"method":"ping"}'], expect: { error: -32600 } },
  { name: 'jsonrpc as number', input: ['{"jsonrpc":2.0,"id":1,"method":"ping"}'], expect: { error: -32600 } },
  // ids of every wrong type, and huge or negative numbers
  { name: 'id null', input: ['{"jsonrpc":"2.0","id":null,"method":"ping"}'], expect: { error: -32600, id: null } },
  { name: 'id object', input: ['{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}'], expect: { error: -32600, id: null } },
  { name: 'id array', input: ['{"jsonrpc":"2.0","id":[1],"method":"ping"}'], expect: { error: -32600 } },
  { name: 'id boolean', input: ['{"jsonrpc":"2.0","id":true,"method":"ping"}'], expect: { error: -32600 } },
  { name: 'id fraction', input: ['{"jsonrpc":"2.0","id":1.5,"method":"ping"}'], expect: { error: -32600 } },
  { name: 'id 1e400 (Infinity)', input: ['{"jsonrpc":"2.0","id":1e400,"method":"ping"}'], expect: { error: -32600 } },
  { name: 'id 2^64', input: ['{"jsonrpc":"2.0","id":18446744073709551616,"method":"ping"}'], expect: { error: -32600 } },
  { name: 'negative integer id is valid', input: [req(-7, 'ping')], expect: { result: true, id: -7 } },
  { name: '100 KB string id is echoed', input: [req('i'.repeat(100_000), 'ping')], expect: { result: true } },
  { name: 'duplicate id keys (last wins)', input: ['{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}'], expect: { result: true, id: 2 } },
  // Methods
  { name: 'method missing', input: ['{"jsonrpc":"2.0","id":1}'], expect: { error: -32600 } },
  { name: 'method empty', input: [req(1, '')], expect: { error: -32600 } },
  { name: 'method a number', input: ['{"jsonrpc":"2.0","id":1,"method":5}'], expect: { error: -32600 } },
  { name: 'unknown method', input: [req(1, 'tools/explode')], expect: { error: -32601 } },
  { name: 'method __proto__', input: [req(1, '__proto__')], expect: { error: -32601 } },
  { name: 'method constructor', input: [req(1, 'constructor')], expect: { error: -32601 } },
  { name: 'method toString', input: [req(1, 'toString')], expect: { error: -32601 } },
  { name: 'method hasOwnProperty', input: [req(1, 'hasOwnProperty')], expect: { error: -32601 } },
  { name: '1 MB method name', input: () => [req(1, 'm'.repeat(MiB))], expect: { error: -32601 } },
  // Params of wrong types
  { name: 'params an array', input: ['{"jsonrpc":"2.0","id":1,"method":"ping","params":[1]}'], expect: { error: -32600 } },
  { name: 'params a string', input: ['{"jsonrpc":"2.0","id":1,"method":"ping","params":"x"}'], expect: { error: -32600 } },
  { name: 'params null', input: ['{"jsonrpc":"2.0","id":1,"method":"ping","params":null}'], expect: { error: -32600 } },
  { name: 'tools/call without name', input: [req(1, 'tools/call', {})], expect: { error: -32602 } },
  { name: 'tools/call name a number', input: [call(1, 42)], expect: { error: -32602 } },
  { name: 'tools/call unknown tool', input: [call(1, 'rm_rf')], expect: { error: -32602 } },
  { name: 'tools/call arguments an array', input: [call(1, 'echo', [1])], expect: { error: -32602 } },
  { name: 'tools/call arguments a string', input: [call(1, 'echo', 'hi')], expect: { error: -32602 } },
  { name: 'echo message a number', input: [call(1, 'echo', { message: 5 })], expect: { error: -32602 } },
  { name: 'process_batch negative count', input: [call(1, 'process_batch', { count: -1 })], expect: { error: -32602 } },
  { name: 'process_batch count 1e308', input: [call(1, 'process_batch', { count: 1e308 })], expect: { error: -32602 } },
  { name: 'progressToken an object', input: [req(1, 'tools/call', { name: 'echo', arguments: { message: 'x' }, _meta: { progressToken: { a: 1 } } })], expect: { result: true } },
  { name: 'initialize twice', input: [req(9, 'initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '0' } })], expect: { error: -32600 } },
  { name: 'initialize with a numeric version', init: false, input: [req(1, 'initialize', { protocolVersion: 20250618 })], expect: { error: -32602 } },
  { name: 'logging/setLevel to a bogus level', input: [req(1, 'logging/setLevel', { level: 'loud' })], expect: { error: -32602 } },
  { name: 'cancel with an object requestId', input: [req(1, 'cancel', { requestId: {} })], expect: { error: -32602 } },
  // Prototype-pollution keys: treated as data, Object.prototype untouched (asserted after the table)
  { name: '__proto__ key in arguments', input: ['{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"p","__proto__":{"polluted":true}}}}'], expect: { result: true } },
  { name: 'constructor.prototype in arguments', input: ['{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"p","constructor":{"prototype":{"polluted":true}}}}}'], expect: { result: true } },
  { name: '__proto__ as params', input: ['{"jsonrpc":"2.0","id":1,"method":"ping","params":{"__proto__":{"polluted":true}}}'], expect: { result: true } },
  { name: '__proto__ as _meta', input: ['{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"m"},"_meta":{"__proto__":{"progressToken":1}}}}'], expect: { result: true } },
  // Deep nesting and big payloads
  { name: '10,000-deep array in params', input: () => [`{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":${deep(10_000, '[', ']')}}}`], expect: { result: true } },
  { name: '10,000-deep object in tool arguments', input: () => [`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"d","x":${deep(10_000, '{"a":', '}')}}}}`], expect: { result: true } },
  { name: '1,000,000-deep array (parses; not an object)', input: () => [deep(1_000_000, '[', ']')], expect: { error: -32600 } },
  { name: '3 MB string echoed back', input: () => [call(1, 'echo', { message: 'x'.repeat(3 * MiB) })], expect: { result: true } },
  { name: 'frame exactly at MAX_PAYLOAD_BYTES', input: () => [req(1, 'ping').padEnd(LIMIT, ' ')], expect: { result: true } },
  { name: 'frame one byte over MAX_PAYLOAD_BYTES', input: () => [req(1, 'ping').padEnd(LIMIT + 1, ' ')], expect: { close: 1009 } },
  { name: 'binary frame', input: [{ binary: Buffer.from(req(1, 'ping')) }], expect: { close: 1003 } },
  // Responses and notifications nobody asked for
  { name: 'response to a request never sent', input: ['{"jsonrpc":"2.0","id":"s999","result":{}}'], expect: { silent: true } },
  { name: 'error response to a request never sent', input: ['{"jsonrpc":"2.0","id":"s998","error":{"code":1,"message":"x"}}'], expect: { silent: true } },
  { name: 'response with a malformed error', input: ['{"jsonrpc":"2.0","id":"s997","error":"boom"}'], expect: { error: -32600 } },
  { name: 'unknown notification', input: ['{"jsonrpc":"2.0","method":"notifications/whatever"}'], expect: { silent: true } },
  { name: 'cancel notification for an unknown id', input: ['{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":12345}}'], expect: { silent: true } },
  { name: 'notification with prototype keys', input: ['{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"__proto__":{"requestId":1}}}'], expect: { silent: true } },
  // Floods
  { name: 'notification flood (10,000)', input: () => Array.from({ length: 10_000 }, () => '{"jsonrpc":"2.0","method":"notifications/whatever"}'), expect: { close: 1008 } },
  { name: 'request flood (3,000 pings)', input: () => Array.from({ length: 3_000 }, (_, i) => req(i + 1, 'ping')), expect: { close: 1008 } },
];

function send(client: RawClient, frame: Frame): void {
  if (typeof frame === 'string') client.ws.send(frame);
  else if ('binary' in frame) client.ws.send(frame.binary, { binary: true });
  else client.ws.send(frame.rawText, { binary: false });
}

describe('hostile input over WebSocket', () => {
  let h: Hostile;
  before(async () => {
    h = await startHostile();
  });
  after(() => h.close());

  for (const row of rows) {
    test(`${row.name} → ${JSON.stringify(row.expect)}`, async () => {
      const client = await openRaw(h.server.wsUrl, { headers: bearer(h.token) });
      try {
        if (row.init !== false) await client.initialize();
        const frames = typeof row.input === 'function' ? row.input() : row.input;
        // A long call in flight on the good client while the hostile input arrives.
        const concurrent = h.good.callTool({ name: 'process_batch', arguments: { count: 5, delayMs: 1 } });
        for (const f of frames) send(client, f);
        const e = row.expect;
        if ('close' in e) {
          assert.equal((await client.closed).code, e.close);
        } else if ('silent' in e) {
          client.send({ jsonrpc: '2.0', id: 'after', method: 'ping' });
          const next = await client.next();
          assert.equal(next.id, 'after', `nothing may answer this input, got ${JSON.stringify(next).slice(0, 200)}`);
        } else {
          const m = await client.next(20_000);
          if ('error' in e) assert.equal(m.error?.code, e.error, JSON.stringify(m).slice(0, 300));
          else assert.ok(m.result !== undefined, JSON.stringify(m).slice(0, 300));
          if (e.id !== undefined) assert.deepEqual(m.id, e.id);
          client.send({ jsonrpc: '2.0', id: 'after', method: 'ping' });
          assert.equal((await client.waitFor((x) => x.id === 'after')).result !== undefined, true, 'the socket still works');
        }
        assert.ok(((await concurrent).content as unknown[]).length > 0);
      } finally {
        client.close();
      }
      await h.assertUndisturbed(row.name);
    });
  }

  test('no input polluted Object.prototype', () => {
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
  });
});
