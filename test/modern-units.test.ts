// The small pieces of MCP 2026-07-28 handling, without a server: the strict =?base64?…?= header form,
// Mcp-Param-* checks for x-mcp-header arguments, and the requestState seal (tamper, expiry, binding).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkParamHeaders, decodeHeaderValue, paramHeaders } from '../src/protocol/modern/headers.js';
import { canonicalJson, RequestStateCodec } from '../src/protocol/modern/mrtr.js';
import { RpcError } from '../src/errors.js';

test('header values: the sentinel form is decoded strictly, anything else is literal', () => {
  assert.equal(decodeHeaderValue('=?base64?SGVsbG8=?='), 'Hello');
  assert.equal(decodeHeaderValue('SGVsbG8='), 'SGVsbG8=');
  assert.equal(decodeHeaderValue('=?base64?SGVsbG8='), '=?base64?SGVsbG8=');
  assert.equal(decodeHeaderValue('=?base64?SGVsbG8?='), undefined, 'padding is required');
  assert.equal(decodeHeaderValue('=?base64?SGVs!!!bG8=?='), undefined);
  assert.equal(decodeHeaderValue(`=?base64?${Buffer.from([0xff, 0xfe]).toString('base64')}?=`), undefined, 'not UTF-8');
  assert.equal(decodeHeaderValue(`=?base64?${Buffer.from('  Zürich ').toString('base64')}?=`), '  Zürich ');
});

test('Mcp-Param-*: present argument ⇔ header, equal after decoding; integers compare numerically', () => {
  const schema = {
    type: 'object',
    properties: {
      region: { type: 'string', 'x-mcp-header': 'Region' },
      count: { type: 'integer', 'x-mcp-header': 'Count' },
      flag: { type: 'boolean', 'x-mcp-header': 'Flag' },
      ratio: { type: 'number', 'x-mcp-header': 'Ratio' },
      nested: { type: 'object', properties: { deep: { type: 'string', 'x-mcp-header': 'Deep' } } },
    },
  };
  const annotated = paramHeaders(schema);
  assert.deepEqual(annotated.map((a) => a.header), ['mcp-param-region', 'mcp-param-count', 'mcp-param-flag']);
  const ok = { 'mcp-param-region': 'eu', 'mcp-param-count': '42.0', 'mcp-param-flag': 'true' };
  assert.equal(checkParamHeaders(ok, annotated, { region: 'eu', count: 42, flag: true }), undefined);
  assert.equal(checkParamHeaders({}, annotated, { region: null }), undefined, 'null: no header expected');
  const missing = checkParamHeaders({}, annotated, { region: 'eu' });
  assert.ok(missing instanceof RpcError && missing.code === -32020);
  assert.equal(checkParamHeaders({ 'mcp-param-count': '41' }, annotated, { count: 42 })?.code, -32020);
  assert.equal(checkParamHeaders({ 'mcp-param-flag': 'TRUE' }, annotated, { flag: true })?.code, -32020);
});

test('requestState: sealed to its request and caller, refused when altered or expired', () => {
  const codec = new RequestStateCodec('a'.repeat(32));
  const binding = { method: 'tools/call', target: 'ask', arguments: { b: 1, a: [2, { c: 3 }] }, principal: { subject: 'alice', scopes: [] } };
  const state = codec.seal(binding, 2, { k: { action: 'accept' } });
  assert.deepEqual(codec.open(state, { ...binding, arguments: { a: [2, { c: 3 }], b: 1 } }), { round: 2, answers: { k: { action: 'accept' } } });
  assert.throws(() => codec.open(`${state}x`, binding), /integrity/);
  assert.throws(() => codec.open(state, { ...binding, target: 'other' }), /another request/);
  assert.throws(() => codec.open(state, { ...binding, principal: { subject: 'bob', scopes: [] } }), /another caller/);
  assert.throws(() => new RequestStateCodec('b'.repeat(32)).open(state, binding), /integrity/, 'another key');
  const expired = new RequestStateCodec('a'.repeat(32), -1).seal(binding, 1, {});
  assert.throws(() => codec.open(expired, binding), /expired/);
  assert.equal(canonicalJson({ b: 1, a: { d: null, c: [1, 'x'] } }), '{"a":{"c":[1,"x"],"d":null},"b":1}');
});
