// The standard request headers of MCP 2026-07-28 Streamable HTTP, checked against the body (any
// difference → 400 -32020): MCP-Protocol-Version, Mcp-Method, Mcp-Name (tools/call, prompts/get,
// resources/read) and the Mcp-Param-* headers of tool parameters annotated with `x-mcp-header`.
// Values may be sent as `=?base64?…?=`; decoding is strict (padding required, fatal UTF-8).
import type { IncomingHttpHeaders } from 'node:http';
import { Errors, RpcError } from '../../errors.js';
import type { IncomingRequest } from '../../jsonrpc.js';
import { isObject } from './envelope.js';

const SENTINEL_PREFIX = '=?base64?';
const SENTINEL_SUFFIX = '?=';
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The methods whose `Mcp-Name` header mirrors a body field. */
const NAME_FIELD: Readonly<Record<string, 'name' | 'uri'>> = { 'tools/call': 'name', 'prompts/get': 'name', 'resources/read': 'uri' };

/** One header's value (the first when repeated), without surrounding spaces and tabs (RFC 9110 OWS). */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const raw = headers[name];
  const value = Array.isArray(raw) ? raw[0] : raw;
  return value === undefined ? undefined : value.replace(/^[ \t]+|[ \t]+$/g, '');
}

/** A header value as meant: the decoded `=?base64?…?=` form, or the literal; undefined when badly encoded. */
export function decodeHeaderValue(value: string): string | undefined {
  if (!(value.startsWith(SENTINEL_PREFIX) && value.endsWith(SENTINEL_SUFFIX) && value.length >= SENTINEL_PREFIX.length + SENTINEL_SUFFIX.length)) return value;
  const b64 = value.slice(SENTINEL_PREFIX.length, value.length - SENTINEL_SUFFIX.length);
  if (!STRICT_BASE64.test(b64)) return undefined;
  try {
    return UTF8.decode(Buffer.from(b64, 'base64'));
  } catch {
    return undefined;
  }
}

function mismatch(message: string, data?: Record<string, unknown>): RpcError {
  return new RpcError(Errors.HEADER_MISMATCH, `Header mismatch: ${message}`, data);
}

/**
 * MCP-Protocol-Version and Mcp-Method present and differing from the body: checked before the version
 * itself (a header saying 2026-07-28 over a body saying v999 is a mismatch, not an unsupported version).
 */
export function checkDeclaredHeaders(headers: IncomingHttpHeaders, method: string, bodyVersion: string): RpcError | undefined {
  const version = headerValue(headers, 'mcp-protocol-version');
  if (version !== undefined && version !== bodyVersion) {
    return mismatch(`MCP-Protocol-Version ${JSON.stringify(version)} differs from _meta protocolVersion ${JSON.stringify(bodyVersion)}`, { header: 'MCP-Protocol-Version' });
  }
  const mcpMethod = headerValue(headers, 'mcp-method');
  if (mcpMethod !== undefined && mcpMethod !== method) {
    return mismatch(`Mcp-Method ${JSON.stringify(mcpMethod)} differs from the method ${JSON.stringify(method)}`, { header: 'Mcp-Method' });
  }
  return undefined;
}

/** The headers every request must carry: MCP-Protocol-Version, Mcp-Method, and Mcp-Name where it applies. */
export function checkRequiredHeaders(headers: IncomingHttpHeaders, request: IncomingRequest): RpcError | undefined {
  if (headerValue(headers, 'mcp-protocol-version') === undefined) return mismatch('MCP-Protocol-Version is required', { header: 'MCP-Protocol-Version' });
  if (headerValue(headers, 'mcp-method') === undefined) return mismatch('Mcp-Method is required', { header: 'Mcp-Method' });
  const field = NAME_FIELD[request.method];
  const bodyValue = field === undefined ? undefined : request.params?.[field];
  if (typeof bodyValue !== 'string') return undefined;
  const raw = headerValue(headers, 'mcp-name');
  if (raw === undefined) return mismatch(`Mcp-Name is required on ${request.method}`, { header: 'Mcp-Name' });
  const decoded = decodeHeaderValue(raw);
  if (decoded === undefined) return mismatch('Mcp-Name is not valid =?base64?…?= encoding', { header: 'Mcp-Name' });
  if (decoded !== bodyValue) return mismatch(`Mcp-Name ${JSON.stringify(decoded)} differs from params.${field} ${JSON.stringify(bodyValue)}`, { header: 'Mcp-Name' });
  return undefined;
}

export interface ParamHeader {
  /** The argument (a top-level property of the input schema). */
  property: string;
  /** The header's name in lower case (`mcp-param-region`). */
  header: string;
  type: 'string' | 'integer' | 'boolean';
}

/** The `x-mcp-header` annotations of an input schema (top-level properties of a string, integer or boolean type). */
export function paramHeaders(inputSchema: unknown): ParamHeader[] {
  const props = isObject(inputSchema) && isObject(inputSchema.properties) ? inputSchema.properties : undefined;
  if (props === undefined) return [];
  const out: ParamHeader[] = [];
  for (const [property, schema] of Object.entries(props)) {
    if (!isObject(schema)) continue;
    const name = schema['x-mcp-header'];
    const type = schema.type;
    if (typeof name !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) continue;
    if (type !== 'string' && type !== 'integer' && type !== 'boolean') continue;
    out.push({ property, header: `mcp-param-${name.toLowerCase()}`, type });
  }
  return out;
}

/** Each annotated argument present in the body must come with its Mcp-Param-* header, equal after decoding. */
export function checkParamHeaders(headers: IncomingHttpHeaders, annotated: readonly ParamHeader[], args: unknown): RpcError | undefined {
  const values = isObject(args) ? args : {};
  for (const { property, header, type } of annotated) {
    const value = values[property];
    const raw = headerValue(headers, header);
    const display = `Mcp-Param-${header.slice('mcp-param-'.length)}`;
    if (value === undefined || value === null) {
      if (raw !== undefined) return mismatch(`${display} is sent but argument "${property}" is absent`, { header: display });
      continue;
    }
    if (raw === undefined) return mismatch(`${display} is required: argument "${property}" is present`, { header: display });
    const decoded = decodeHeaderValue(raw);
    if (decoded === undefined) return mismatch(`${display} is not valid =?base64?…?= encoding`, { header: display });
    if (!sameValue(decoded, value, type)) return mismatch(`${display} differs from argument "${property}"`, { header: display });
  }
  return undefined;
}

function sameValue(header: string, value: unknown, type: ParamHeader['type']): boolean {
  switch (type) {
    case 'integer':
      return typeof value === 'number' && /^-?\d+(\.0+)?$/.test(header) && Number(header) === value;
    case 'boolean':
      return typeof value === 'boolean' && header === String(value);
    default:
      return typeof value === 'string' && header === value;
  }
}
